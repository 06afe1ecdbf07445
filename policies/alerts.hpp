#pragma once
// alerts: which alert events (SPEC §12) the books' state holds now, and their messages. Pure:
// the alert service (proxy/alerts) looks at the books every second, keeps each event once per
// budget (or account) and period with the ledger store's help, and delivers it.

#include "policies/ledger.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::policies {

enum class alert_kind : unsigned char { soft_limit, budget_exhausted, account_exhausted, poll_error, forecast };
inline constexpr alert_kind all_alert_kinds[] = {alert_kind::soft_limit, alert_kind::budget_exhausted, alert_kind::account_exhausted,
                                                 alert_kind::poll_error, alert_kind::forecast};
std::string_view to_string(alert_kind kind);
std::optional<alert_kind> parse_alert_kind(std::string_view name);

struct alert_event {
    alert_kind kind = alert_kind::soft_limit;
    std::string budget;   // budget events
    std::string account;  // account events
    std::string unit;
    std::optional<money> used, frozen, limit;  // a soft limit is crossed by used + frozen
    std::optional<unix_seconds> period_end;   // budgets with a period
    std::optional<unix_seconds> exhausted_at;  // forecast events
    unix_seconds at = 0;
    std::string detail;  // the poll error
    // Once per this key: the kind, the budget or account, and the period (a budget's window
    // start; an account's exhausted mark or failure streak start).
    std::string key;
};

// Three failed balance checks in a row make a poll_error event.
inline constexpr std::int64_t poll_failures_to_alert = 3;

// Every event the books' state holds at `now` (the same ones again a second later: the caller
// keeps them once).
std::vector<alert_event> detect_alerts(const std::vector<budget_view>& budgets, const std::vector<account_view>& accounts,
                                       unix_seconds now);

std::string alert_text(const alert_event& e);          // one line, for the log and Slack
std::string alert_json(const alert_event& e);          // {"event","budget","account","used","frozen","limit","unit","period_end","at"}
std::string alert_slack_json(const alert_event& e);    // {"text": alert_text}

}  // namespace creditgate::policies
