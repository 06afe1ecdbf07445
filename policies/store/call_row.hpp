#pragma once
// call_row: one row of the ledger (SPEC §7). A call admitted by its budgets is written twice
// under one id: pending at admission, then finished with its outcome; a refusal by a budget
// is written once, finished. Amounts are exact micro-units; times are UTC milliseconds.

#include "policies/decision.hpp"
#include "policies/money.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace creditgate::policies {

using unix_millis = std::int64_t;

struct call_row {
    std::int64_t id = 0;                     // from ledger_store::next_id()
    unix_millis admitted_at = 0;             // refusals: when they were refused
    std::optional<unix_millis> finished_at;  // none: pending (in flight, or lost in a crash)
    std::string request_id, client, team, vendor, account, method, host, path;  // path without query
    unsigned status = 0;                     // what the client got; 0 while pending
    policies::decision decision = policies::decision::pending;
    money estimate;                          // reserved, in the vendor's unit
    money actual;                            // settled, in the vendor's unit (pending: 0)
    std::optional<money> cost_usd;           // actual (pending: reserved) in dollars; none without a price
    std::int64_t latency_ms = 0;

    bool pending() const { return !finished_at.has_value(); }
};

// SPEC §8: a call succeeded when it was forwarded and answered 1xx–3xx.
inline bool succeeded(const call_row& r) { return was_answered(r.decision) && r.status >= 100 && r.status <= 399; }

// What a pending row freezes in dollars (rounded up, as money budgets reserve) and what a
// settled one costs (half-to-even, as money budgets settle).
std::optional<money> reserved_usd(money estimate, const std::optional<money>& usd_per_unit);
std::optional<money> settled_usd(money actual, const std::optional<money>& usd_per_unit);

}  // namespace creditgate::policies
