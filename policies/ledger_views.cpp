#include "policies/ledger.hpp"
#include "policies/ledger_state.hpp"

#include <algorithm>

namespace creditgate::policies {

std::vector<budget_view> ledger::budgets() const {
    std::lock_guard lock(mutex_);
    const unix_seconds now = clock_.wall();
    const steady_nanos steady = clock_.steady();
    std::vector<budget_view> out;
    for (const budget_state& state : budgets_) {
        budget_state b = state;  // a copy: viewing does not advance the ledger
        start_window(b, now);
        refill(b, steady);
        // A shared budget shows the fleet: the central row as of the last answer, plus this
        // holder's own since.
        const money_sum used = b.shown_used(), frozen = b.shown_frozen();
        budget_view v{b.def, b.unit, b.limit(), used.to_money(), frozen.to_money(), {}, b.drift.to_money(), b.window, b.queued, b.would_block, false};
        switch (b.def->kind) {
            case budget_kind::concurrency: v.frozen = money::units(b.shown_in_flight()); v.remaining = v.limit - v.frozen; break;
            case budget_kind::rate: {
                const lease_amount tokens = b.share ? b.share->central.tokens + std::max<lease_amount>(0, b.share->held()) : b.tokens;
                v.remaining = money::units(static_cast<std::int64_t>(std::min<lease_amount>(tokens / token_micro, INT64_MAX)));
                break;
            }
            default: v.remaining = (money_sum(b.def->limit) - used - frozen).to_money(); break;
        }
        if (b.metered() && b.def->soft_limit) {
            const auto threshold = b.def->limit.times(*b.def->soft_limit, money::rounding::up);
            v.soft_limit_reached = threshold && used + frozen >= money_sum(*threshold);
        }
        v.refused = b.refused;
        if (b.metered()) {
            const spend_rate rate = recent_rate(b.history, used, b.window, now, b.share.has_value());
            v.forecast_exhausted_at = forecast_exhausted_at(money_sum(b.def->limit), used, frozen, rate, b.window, now);
        }
        out.push_back(v);
    }
    return out;
}

std::vector<account_view> ledger::accounts() const {
    std::lock_guard lock(mutex_);
    std::vector<account_view> out;
    for (const account_state& a : accounts_) {
        const auto remaining = a.remaining();
        out.push_back({a.def.ref.name(), a.def.vendor, remaining ? std::optional<money>(remaining->to_money()) : std::nullopt, a.source,
                       a.updated_at, a.frozen.to_money(), a.drift.to_money(), a.exhausted, a.poll_error, a.poll_failures,
                       a.failing_since, a.exhausted_since});
    }
    return out;
}

std::vector<reservation_view> ledger::reservations() const {
    std::lock_guard lock(mutex_);
    const steady_nanos now = clock_.steady();
    std::vector<reservation_view> out;
    for (const held_call* call = held_head_; call; call = call->next) {
        reservation_view v{call->id, call->labels, call->account_amount, {}, now - call->admitted_at};
        money amount;
        for (const auto& c : call->claims) {
            v.budgets.push_back(defs_[c.budget].id);
            if (!c.usd_per_unit && budgets_[c.budget].metered()) amount = std::max(amount, c.amount);
        }
        if (!call->account) v.amount = amount;
        out.push_back(std::move(v));
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    return out;
}

}  // namespace creditgate::policies
