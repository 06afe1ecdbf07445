#pragma once
// budget: one budget as the config defines it (kind, scope, vendor, limit, period and
// what to do when it is short). Cross-references to vendors and clients are checked by
// the config loader, which knows them.

#include "policies/json_input.hpp"
#include "policies/money.hpp"
#include "policies/period.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace creditgate::policies {

enum class budget_kind { credits, money, concurrency, rate };
enum class exceed_action { reject, queue };
enum class budget_mode { enforce, shadow };

struct budget_scope {
    std::optional<std::string> team;
    std::optional<std::string> client;
    std::optional<std::string> account;
    std::optional<std::string> path_prefix;
};

struct rate_spec {
    std::int64_t tokens = 0;      // N in "N/min"
    std::int64_t per_seconds = 1;  // the window N refills over
};

struct budget_def {
    std::string id;
    budget_kind kind = budget_kind::credits;
    budget_scope scope;
    std::string vendor;  // a vendor name or "*"
    std::string unit;    // "usd" for money budgets; empty means the vendor's own unit
    money limit;         // credits and money budgets
    std::int64_t max_concurrent = 0;
    rate_spec rate;
    period_spec period;
    exceed_action on_exceed = exceed_action::reject;
    std::int64_t queue_timeout_ms = 30'000;
    budget_mode mode = budget_mode::enforce;
    std::optional<money> soft_limit;  // a fraction of limit
};

std::optional<budget_def> read_budget(const json& node, const std::string& path, issue_list& issues);
std::optional<rate_spec> parse_rate(std::string_view text);
std::string_view to_string(budget_kind kind);

}  // namespace creditgate::policies
