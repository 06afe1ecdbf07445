#pragma once
// `creditgate report --budgets` (SPEC §2): each budget as the ledger has it — used, frozen,
// limit, the share used and when its period resets — as a table, CSV or JSON.

#include "policies/store/usage_report.hpp"
#include "proxy/config/config.hpp"

namespace creditgate::proxy {

int run_budget_report(const config& cfg, policies::report_format format);

}  // namespace creditgate::proxy
