// The ledger's queue: calls that wait for a queue budget, admitted FIFO per budget when every
// budget they claim fits at once, or refused at their timeout.
#include "policies/ledger.hpp"
#include "policies/ledger_state.hpp"


namespace creditgate::policies {

void ledger::drain_waiters(std::vector<std::pair<std::function<void(admission)>, admission>>& ready) {
    // FIFO per budget: once a waiter is stuck on a budget, later waiters that claim it stay behind.
    // Thousands may wait on one budget: a flag per budget, and the walk ends once every budget
    // is blocked (nobody further back can pass).
    blocked_.assign(budgets_.size(), 0);
    std::size_t blocked_count = 0;
    auto block = [&](const waiter& w) {
        for (const claim& cl : w.request.claims)
            if (!blocked_[cl.budget]) {
                blocked_[cl.budget] = 1;
                ++blocked_count;
            }
    };
    for (auto it = waiters_.begin(); it != waiters_.end() && blocked_count < budgets_.size();) {
        bool behind = false;
        for (const claim& cl : it->request.claims) behind = behind || blocked_[cl.budget];
        if (behind) {
            block(*it);
            ++it;
            continue;
        }
        const check c = evaluate(it->request, true, clock_.wall(), clock_.steady());
        if (c.result == verdict::wait) {
            it->lease_only = c.lease_only();
            it->queued = it->queued || !c.lease_only();
            block(*it);
            ++it;
            continue;
        }
        for (const claim& cl : it->request.claims)
            if (budgets_[cl.budget].def->on_exceed == exceed_action::queue) --budgets_[cl.budget].queued;
        admission decided;
        if (c.result == verdict::fits) {
            auto record = std::make_unique<held_call>();  // the rare queued path allocates under the lock
            record->labels = std::move(it->request.labels);
            record->admitted_at = clock_.steady();
            decided = apply(std::move(it->request), c, std::move(record));
            decided.queued = it->queued;
        } else {
            decided.result = admission::outcome::refused;  // things changed (a new period, an exhausted account)
            decided.refusal = c.refusal;
        }
        ready.emplace_back(std::move(it->on_admitted), std::move(decided));
        it = waiters_.erase(it);
    }
}

std::optional<refusal_detail> ledger::cancel_wait(std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    for (auto it = waiters_.begin(); it != waiters_.end(); ++it) {
        if (it->ticket != ticket) continue;
        for (const claim& cl : it->request.claims)
            if (budgets_[cl.budget].def->on_exceed == exceed_action::queue) --budgets_[cl.budget].queued;
        const bool lease_only = it->lease_only && !it->queued;
        const check c = evaluate(it->request, true, clock_.wall(), clock_.steady());
        waiters_.erase(it);
        if (lease_only) {
            // It waited for the fleet's database, not for a budget.
            return storage_refusal("no lease within " + std::to_string(fleet_->lease_wait_ms) +
                                   " ms: the budget's rest is leased by other instances (a silent one's comes back after lease.ttl_s),"
                                   " or the fleet's database does not answer");
        }
        refusal_detail r = c.refusal.value_or(refusal_detail{});
        r.kind = refusal_code::queue_timeout;
        r.retry_after_s = 1;
        r.message = "waited the queue timeout; " + (r.message.empty() ? std::string("the budget is still short") : r.message);
        return r;
    }
    return std::nullopt;
}

void ledger::poke() {
    std::vector<std::pair<std::function<void(admission)>, admission>> ready;
    {
        std::lock_guard lock(mutex_);
        if (waiters_.empty()) return;
        drain_waiters(ready);
    }
    for (auto& [callback, decided] : ready) callback(std::move(decided));
}

bool ledger::has_waiters() const {
    std::lock_guard lock(mutex_);
    return !waiters_.empty();
}

}  // namespace creditgate::policies
