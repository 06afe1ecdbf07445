#pragma once
// ledger_state: the ledger's private records of budgets, accounts and calls in flight,
// shared by ledger.cpp (the money logic) and ledger_views.cpp (what the admin API reads).
// Not for use outside the ledger.

#include "policies/forecast.hpp"
#include "policies/ledger.hpp"

#include <algorithm>

namespace creditgate::policies {

inline constexpr std::int64_t token_micro = 1'000'000;  // rate tokens are counted in millionths
inline constexpr steady_nanos nanos_per_second = 1'000'000'000;
// Whole seconds, rounded up and at least 1: what Retry-After says.
inline std::int64_t ceil_seconds(steady_nanos ns) { return std::max<std::int64_t>(1, (ns + nanos_per_second - 1) / nanos_per_second); }


// A budget shared by the fleet: its lease for the current window and the fleet's figures.
// held = granted − spent − returned is what this holder may admit against.
struct ledger::share_state {
    std::string key;                  // fleet_budget_key
    bool leases = true;               // shadow budgets report spend but hold no lease
    lease_amount granted = 0, spent = 0, returned = 0;  // cumulative for the window
    lease_amount acked_spent = 0;     // spent as of the last answer: central.used includes it
    central_view central;
    bool row_known = false;           // the central row exists (no seed to send)
    // While an answer is applied: the central row could not spare this much for the calls that
    // waited, and those that lack at least as much are refused (0: none).
    lease_amount denied_need = 0;
    demand_meter meter;
    lease_amount peak_in_flight = 0;  // concurrency: the most calls at once since the last work
    steady_nanos last_admit = 0;
    lease_amount last_claim = 0;      // the most recent call's claim (lease units)

    lease_amount held() const { return granted - spent - returned; }
    // A new window starts with a new central row and nothing of it held.
    void restart() {
        granted = spent = returned = acked_spent = 0;
        central = {};
        row_known = false;
        denied_need = 0;
    }
};

struct ledger::budget_state {
    const budget_def* def;
    std::string unit;
    period_window window;
    money_sum used, frozen, drift;     // credits and money: this window only; exact, never wrapped
    std::int64_t in_flight = 0;        // concurrency
    std::int64_t tokens = 0;           // rate, in millionths of a token
    steady_nanos refilled_at = 0;
    std::uint64_t would_block = 0;
    std::size_t queued = 0;            // waiters that claim this budget
    std::uint64_t refused = 0;         // calls this budget refused in this window (alerts: the first)
    std::optional<share_state> share;  // the fleet's budgets only
    spend_history history;             // credits and money: what settled per hour, for the forecast

    bool metered() const { return def->kind == budget_kind::credits || def->kind == budget_kind::money; }
    // What a budget shows and refuses with: for a shared budget, the fleet's figures as of the
    // last answer plus this holder's own since.
    money_sum shown_used() const {
        if (!share) return used;
        return money_sum::of_micros(share->central.used + share->spent - share->acked_spent);
    }
    money_sum shown_frozen() const { return share ? frozen + money_sum::of_micros(share->central.others_frozen) : frozen; }
    std::int64_t shown_in_flight() const {
        if (!share) return in_flight;
        const lease_amount all = in_flight + share->central.others_frozen;
        return all > INT64_MAX ? INT64_MAX : static_cast<std::int64_t>(all);
    }
    // What one admission tells a shared budget about the demand its lease should cover.
    void note_demand(const claim& c, steady_nanos now) {
        switch (def->kind) {
            case budget_kind::credits:
            case budget_kind::money:
                share->meter.add(c.amount.micros());
                share->last_claim = c.amount.micros();
                break;
            case budget_kind::concurrency:
                share->peak_in_flight = std::max<lease_amount>(share->peak_in_flight, in_flight);
                share->last_claim = 1;
                break;
            case budget_kind::rate:
                share->meter.add(token_micro);
                share->last_claim = token_micro;
                break;
        }
        share->last_admit = now;
    }

    money limit() const {
        switch (def->kind) {
            case budget_kind::concurrency: return money::units(def->max_concurrent);
            case budget_kind::rate: return money::units(def->rate.tokens);
            default: return def->limit;
        }
    }
};

// 503 storage_unavailable: the fleet's rows cannot back the call (SPEC §10's outage rule).
refusal_detail storage_refusal(std::string message);

struct ledger::account_state {
    account_def def;
    std::optional<money> reading;
    balance_source source = balance_source::none;
    std::optional<unix_seconds> updated_at;
    money_sum frozen, settled_since_reading, drift;
    bool exhausted = false;
    std::int64_t in_flight = 0;
    std::optional<std::string> poll_error;
    std::int64_t poll_failures = 0;    // in a row; a success resets it
    unix_seconds failing_since = 0;    // when that streak began
    unix_seconds exhausted_since = 0;  // when it was last marked exhausted here
    // In a fleet: when each was set (UTC ms; the newest wins), and whether the fleet has yet to hear.
    std::int64_t reading_ms = 0, exhausted_ms = 0, error_ms = 0;
    bool dirty = false;

    std::optional<money_sum> remaining() const {
        if (!reading) return std::nullopt;
        return money_sum(*reading) - frozen - settled_since_reading;
    }
};

struct ledger::held_claim {
    std::size_t budget;
    money amount;
    std::optional<money> usd_per_unit;
    unix_seconds window_start;
};

struct ledger::held_call {
    std::uint64_t id = 0;
    std::vector<held_claim> claims;
    std::optional<std::size_t> account;
    money account_amount;
    call_labels labels;
    steady_nanos admitted_at = 0;
    held_call* prev = nullptr;
    held_call* next = nullptr;
};

struct ledger::waiter {
    std::uint64_t ticket;
    admission_request request;
    std::function<void(admission)> on_admitted;
    bool lease_only = false;  // waits only for an exchange with the central rows
    bool queued = false;      // has waited for a queue budget
};

struct ledger::check {
    verdict result = verdict::fits;
    std::optional<refusal_detail> refusal;   // refuse, or the reason to wait
    std::vector<std::size_t> short_budgets;  // wait: the queue budgets that are short
    std::vector<std::size_t> shadow_short;   // shadow budgets this call would have been refused by
    std::vector<std::size_t> lease_short;    // shared budgets whose lease is short: an exchange may help
    std::int64_t queue_timeout_ms = 0;
    bool lease_only() const { return result == verdict::wait && short_budgets.empty(); }
};

}  // namespace creditgate::policies
