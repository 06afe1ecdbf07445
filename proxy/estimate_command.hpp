#pragma once
// `creditgate estimate --config F [--client C] [--format table|json] URL...` (SPEC §2, §12): what
// each URL would cost through this config, priced as admission would, and how the budgets of
// the ledger in state_dir (when there is one) would take it. Nothing is sent to any vendor.

#include "proxy/config/config.hpp"

#include <string>
#include <vector>

namespace creditgate::proxy {

int run_estimate(const config& cfg, const std::string& client, const std::vector<std::string>& urls, bool as_json);

}  // namespace creditgate::proxy
