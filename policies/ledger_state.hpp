#pragma once
// ledger_state: the ledger's private records of budgets, accounts and calls in flight,
// shared by ledger.cpp (the money logic) and ledger_views.cpp (what the admin API reads).
// Not for use outside the ledger.

#include "policies/ledger.hpp"

namespace creditgate::policies {

inline constexpr std::int64_t token_micro = 1'000'000;  // rate tokens are counted in millionths


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

    bool metered() const { return def->kind == budget_kind::credits || def->kind == budget_kind::money; }
    money limit() const {
        switch (def->kind) {
            case budget_kind::concurrency: return money::units(def->max_concurrent);
            case budget_kind::rate: return money::units(def->rate.tokens);
            default: return def->limit;
        }
    }
};

struct ledger::account_state {
    account_def def;
    std::optional<money> reading;
    balance_source source = balance_source::none;
    std::optional<unix_seconds> updated_at;
    money_sum frozen, settled_since_reading, drift;
    bool exhausted = false;
    std::int64_t in_flight = 0;
    std::optional<std::string> poll_error;

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
};

struct ledger::check {
    verdict result = verdict::fits;
    std::optional<refusal_detail> refusal;   // refuse, or the reason to wait
    std::vector<std::size_t> short_budgets;  // wait: the queue budgets that are short
    std::vector<std::size_t> shadow_short;   // shadow budgets this call would have been refused by
    std::int64_t queue_timeout_ms = 0;
};

}  // namespace creditgate::policies
