#pragma once
// retention: which raw ledger rows the retention pass may delete (SPEC §7). Finished rows older
// than `retention_days` go; their days stay in the per-day roll-up, from which reports and a
// budget's used amount take them. A budget narrowed by path_prefix cannot be answered from the
// roll-up (it has no paths), so the horizon never passes the start of such a budget's window.

#include "policies/budget.hpp"
#include "policies/period.hpp"

#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

struct retention_plan {
    std::optional<civil_date> before;  // delete finished rows admitted before this UTC day; nullopt: nothing
    std::string note;                  // why the horizon is where it is (for the log and the CLI)
};

// `asked`: `creditgate prune --before`; otherwise today − retention_days (0 keeps everything).
retention_plan plan_retention(civil_date today, std::int64_t retention_days, const std::optional<civil_date>& asked,
                              const std::vector<budget_def>& budgets, unix_seconds now);

}  // namespace creditgate::policies
