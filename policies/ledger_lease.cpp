// The ledger's side of the fleet (SPEC §10): admission against leases, what each exchange with
// the central rows reports and asks for, and what its answer changes. The ledger never waits
// for the database: a call its lease cannot cover waits in the queue for the next answer.
#include "policies/ledger.hpp"
#include "policies/ledger_state.hpp"

#include <algorithm>

namespace creditgate::policies {
namespace {

using ready_list = std::vector<std::pair<std::function<void(admission)>, admission>>;

}  // namespace

refusal_detail storage_refusal(std::string message) {
    refusal_detail r;
    r.kind = refusal_code::storage_unavailable;
    r.retry_after_s = 1;
    r.message = std::move(message);
    return r;
}

bool ledger::fits_lease(const budget_state& b, const claim& c, steady_nanos steady) const {
    // Past this, the fleet may have reclaimed the lease (SPEC §10 liveness): it covers nothing.
    if (steady > leases_valid_until_) return false;
    const lease_amount held = b.share->held();
    switch (b.def->kind) {
        case budget_kind::credits:
        case budget_kind::money: return b.frozen.micros() + c.amount.micros() <= held;
        case budget_kind::concurrency: return b.in_flight < held;
        case budget_kind::rate: return held >= token_micro;
    }
    return false;
}

// What one credits or money claim lacks beyond this holder's lease now.
lease_amount ledger::lack_of(const budget_state& b, const claim& c) {
    return std::max<lease_amount>(1, b.frozen.micros() + c.amount.micros() - b.share->held());
}

ledger::lease_short ledger::why_lease_short(const budget_state& b, const claim& c, steady_nanos steady) const {
    if (!fleet_online_ || steady > leases_valid_until_) return lease_short::unavailable;
    const share_state& s = *b.share;
    if (b.metered()) {
        // Used only grows within a window: past the limit now, no lease can ever cover the call.
        if (c.amount > b.def->limit) return lease_short::exhausted;
        if (s.central.known && b.shown_used() + c.amount > money_sum(b.def->limit)) return lease_short::exhausted;
    }
    // A slot or a token has one size: any denial is final (until the next window, refill or release).
    if (s.denied_need > 0 && (!b.metered() || lack_of(b, c) >= s.denied_need)) return lease_short::exhausted;
    return lease_short::wait_for_lease;
}

void ledger::roll(budget_state& b, unix_seconds now) {
    if (now < b.window.end) return;
    if (b.share && (b.share->row_known || b.share->granted != 0 || b.share->spent != 0)) {
        // The old window's row hears once more: what was spent, and that the rest of its lease is
        // back. Calls still in flight from it settle against nothing (SPEC §3: a call belongs to
        // the window it was admitted in; a new window starts empty).
        lease_report last = report_of(b, static_cast<std::size_t>(&b - budgets_.data()));
        last.returned = std::max(b.share->returned, b.share->granted - b.share->spent);
        last.frozen = 0;
        last.final = true;
        ended_windows_.push_back(std::move(last));
    }
    start_window(b, now);
}

lease_report ledger::report_of(const budget_state& b, std::size_t index) const {
    const share_state& s = *b.share;
    lease_report r;
    r.budget = index;
    r.key = s.key;
    r.id = b.def->id;
    r.kind = b.def->kind;
    r.leases = s.leases;
    r.window = b.window;
    switch (b.def->kind) {
        case budget_kind::credits:
        case budget_kind::money:
            r.limit = b.def->limit.micros();
            r.frozen = b.frozen.micros();
            break;
        case budget_kind::concurrency:
            r.limit = b.def->max_concurrent;
            r.frozen = b.in_flight;
            break;
        case budget_kind::rate:
            r.limit = static_cast<lease_amount>(b.def->rate.tokens) * token_micro;
            r.refill_per_s = r.limit / std::max<std::int64_t>(1, b.def->rate.per_seconds);
            break;
    }
    r.ensure_row = !s.row_known;
    if (r.ensure_row && b.metered()) r.seed = fleet_seed{b.def->vendor, b.def->scope, b.def->kind == budget_kind::money};
    r.spent = s.spent;
    r.returned = s.returned;
    return r;
}

std::pair<lease_amount, lease_amount> ledger::waiting_for(std::size_t budget) const {
    lease_amount total = 0, least = 0;
    for (const waiter& w : waiters_)
        for (const claim& c : w.request.claims) {
            if (c.budget != budget) continue;
            lease_amount amount = 0;
            switch (budgets_[budget].def->kind) {
                case budget_kind::credits:
                case budget_kind::money: amount = c.amount.micros(); break;
                case budget_kind::concurrency: amount = 1; break;
                case budget_kind::rate: amount = token_micro; break;
            }
            total += amount;
            least = least == 0 ? amount : std::min(least, amount);
        }
    return {total, least};
}

lease_work ledger::take_lease_work(std::uint32_t holder, bool urgent) {
    lease_work work;
    work.holder = holder;
    work.urgent = urgent;
    std::lock_guard lock(mutex_);
    const unix_seconds now = clock_.wall();
    const steady_nanos steady = clock_.steady();
    const std::int64_t target_s = fleet_ ? fleet_->target_s : 10;
    const steady_nanos elapsed = last_work_at_ != 0 ? steady - last_work_at_ : 0;
    if (!urgent) last_work_at_ = steady;  // the demand meters run on the regular exchanges
    for (std::size_t i = 0; i < budgets_.size(); ++i) {
        budget_state& b = budgets_[i];
        if (!b.share) continue;
        roll(b, now);
        share_state& s = *b.share;
        const auto [waiting, least] = waiting_for(i);
        if (urgent && waiting == 0) continue;
        lease_inputs in;
        in.held = s.held();
        in.in_use = b.metered() ? b.frozen.micros() : b.def->kind == budget_kind::concurrency ? b.in_flight : 0;
        in.need = std::max<lease_amount>(0, in.in_use + waiting - in.held);
        in.need_least = std::max<lease_amount>(0, in.in_use + least - in.held);
        if (!urgent) s.meter.update(elapsed, target_s);
        in.demand = b.def->kind == budget_kind::concurrency ? std::max<lease_amount>(s.peak_in_flight, b.in_flight) + waiting
                                                            : s.meter.demand(target_s);
        in.limit = b.metered() ? b.def->limit.micros() : b.def->kind == budget_kind::concurrency
                                                            ? b.def->max_concurrent
                                                            : static_cast<lease_amount>(b.def->rate.tokens) * token_micro;
        in.used = b.metered() ? b.shown_used().micros() : 0;
        in.instances = instances_;
        in.unit = s.last_claim;
        in.idle = in.in_use == 0 && waiting == 0 && steady - s.last_admit > target_s * nanos_per_second;
        lease_plan plan = s.leases ? plan_lease(in) : lease_plan{};
        s.returned += plan.give_back;  // gone from this holder's capacity now, from the central row at the answer
        if (!urgent) s.peak_in_flight = b.in_flight;
        lease_report r = report_of(b, i);
        r.ask_min = plan.ask_min;
        r.ask_want = plan.ask_want;
        r.for_waiting = in.need > 0;
        r.claim_least = least;
        work.reports.push_back(std::move(r));
    }
    if (!urgent) {
        work.reports.insert(work.reports.end(), ended_windows_.begin(), ended_windows_.end());
        for (const account_state& a : accounts_)
            if (a.dirty && a.def.ref.registered()) work.accounts.push_back(account_report_of(a));
    }
    return work;
}

account_report ledger::account_report_of(const account_state& a) {
    account_report r;
    r.id = a.def.ref.name();
    r.vendor = a.def.vendor;
    if (a.reading) r.reading = a.reading->micros();
    r.source = std::string(to_string(a.source));
    r.reading_ms = a.reading_ms;
    r.exhausted = a.exhausted;
    r.exhausted_ms = a.exhausted_ms;
    r.poll_error = a.poll_error;
    r.error_ms = a.error_ms;
    return r;
}

void ledger::apply_account_reports(const lease_work& work, const std::vector<account_report>& fleet) {
    for (const account_report& sent : work.accounts)
        for (account_state& a : accounts_)
            if (a.def.ref.registered() && a.def.ref.name() == sent.id && a.reading_ms == sent.reading_ms &&
                a.exhausted_ms == sent.exhausted_ms && a.error_ms == sent.error_ms)
                a.dirty = false;  // unchanged since it was sent: the fleet has it
    for (const account_report& row : fleet) {
        for (account_state& a : accounts_) {
            if (!a.def.ref.registered() || a.def.ref.name() != row.id) continue;
            // Another instance's newer news. A reading replaces ours whole: it is the vendor's
            // figure, after every call the fleet settled before it.
            if (row.reading && row.reading_ms > a.reading_ms) {
                a.reading = money::from_micros(*row.reading);
                a.settled_since_reading = money_sum();
                a.source = row.source == "header" ? balance_source::header : row.source == "poll" ? balance_source::poll : balance_source::none;
                a.updated_at = row.reading_ms / 1000;
                a.reading_ms = row.reading_ms;
            }
            if (row.exhausted_ms > a.exhausted_ms) {
                a.exhausted = row.exhausted;
                a.exhausted_ms = row.exhausted_ms;
            }
            if (row.error_ms > a.error_ms) {
                a.poll_error = row.poll_error;
                a.error_ms = row.error_ms;
            }
        }
    }
}

void ledger::apply_lease_answer(const lease_work& work, const lease_answer& answer, steady_nanos sent_at) {
    ready_list ready;
    {
        std::lock_guard lock(mutex_);
        fleet_online_ = true;
        instances_ = std::max(1, answer.instances);
        // Two thirds of ttl_s: the others reclaim after ttl_s by the database's clock, counted
        // from a heartbeat that left here no earlier than `sent_at`.
        const std::int64_t ttl_s = fleet_ ? fleet_->ttl_s : 30;
        leases_valid_until_ = sent_at + ttl_s * nanos_per_second * 2 / 3;
        for (std::size_t i = 0; i < work.reports.size() && i < answer.replies.size(); ++i) {
            const lease_report& sent = work.reports[i];
            const lease_reply& reply = answer.replies[i];
            if (sent.final) {
                std::erase_if(ended_windows_, [&](const lease_report& r) {
                    return r.budget == sent.budget && r.window == sent.window;
                });
                continue;
            }
            budget_state& b = budgets_[sent.budget];
            if (!b.share || b.window != sent.window) continue;  // the window ended meanwhile
            share_state& s = *b.share;
            if (reply.view.known) {
                s.central = reply.view;
                s.granted = std::max(s.granted, reply.view.granted);
                s.row_known = true;
            }
            s.acked_spent = std::max(s.acked_spent, sent.spent);
            s.denied_need = reply.denied && sent.for_waiting ? sent.ask_min : 0;
        }
        apply_account_reports(work, answer.accounts);
        if (!waiters_.empty()) drain_waiters(ready);
        // A denial answers the calls that waited for it. Later calls ask again: another holder
        // may return what it holds at any moment, and one instance alone would have admitted
        // them then. (A budget the fleet has spent for good is refused without asking: see
        // why_lease_short.)
        for (budget_state& b : budgets_)
            if (b.share) b.share->denied_need = 0;
    }
    for (auto& [callback, decided] : ready) callback(std::move(decided));
}

void ledger::lease_exchange_failed() {
    ready_list ready;
    {
        std::lock_guard lock(mutex_);
        fleet_online_ = false;
        if (!waiters_.empty()) drain_waiters(ready);  // those waiting for a lease hear 503 now
    }
    for (auto& [callback, decided] : ready) callback(std::move(decided));
}

void ledger::leases_lost() {
    ready_list ready;
    {
        std::lock_guard lock(mutex_);
        for (budget_state& b : budgets_)
            if (b.share) b.share->restart();
        ended_windows_.clear();
        if (!waiters_.empty()) drain_waiters(ready);
    }
    for (auto& [callback, decided] : ready) callback(std::move(decided));
}

lease_work ledger::final_lease_work(std::uint32_t holder) {
    lease_work work;
    work.holder = holder;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < budgets_.size(); ++i) {
        budget_state& b = budgets_[i];
        if (!b.share) continue;
        lease_report r = report_of(b, i);
        r.returned = std::max(b.share->returned, b.share->granted - b.share->spent);
        r.frozen = 0;
        r.final = true;
        work.reports.push_back(std::move(r));
    }
    work.reports.insert(work.reports.end(), ended_windows_.begin(), ended_windows_.end());
    return work;
}

bool ledger::lease_wanted() const {
    std::lock_guard lock(mutex_);
    return std::any_of(waiters_.begin(), waiters_.end(), [](const waiter& w) { return w.lease_only; });
}

}  // namespace creditgate::policies
