#include "policies/ledger.hpp"
#include "policies/ledger_state.hpp"

#include <algorithm>
#include <chrono>
#include <set>

namespace creditgate::policies {
namespace {

constexpr std::int64_t micro = token_micro;

}  // namespace

ledger_clock ledger_clock::system() {
    return {[] {
                return static_cast<unix_seconds>(std::chrono::duration_cast<std::chrono::seconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
            },
            [] {
                return static_cast<steady_nanos>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                     std::chrono::steady_clock::now().time_since_epoch())
                                                     .count());
            },
            [] {
                return static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
            }};
}

std::string_view to_string(balance_source source) {
    switch (source) {
        case balance_source::none: return "none";
        case balance_source::header: return "header";
        case balance_source::poll: return "poll";
    }
    return "none";
}

// ---- reservation -------------------------------------------------------------------------

reservation& reservation::operator=(reservation&& other) noexcept {
    if (this != &other) {
        release();
        ledger_ = other.ledger_;
        call_ = other.call_;
        id_ = other.id_;
        other.ledger_ = nullptr;
    }
    return *this;
}

void reservation::commit(money actual) {
    if (!ledger_) return;
    ledger* owner = std::exchange(ledger_, nullptr);
    owner->settle(static_cast<ledger::held_call*>(call_), actual);
}

void reservation::release() {
    if (!ledger_) return;
    ledger* owner = std::exchange(ledger_, nullptr);
    owner->settle(static_cast<ledger::held_call*>(call_), std::nullopt);
}

// ---- ledger ------------------------------------------------------------------------------

ledger::ledger(std::vector<budget_def> budgets, std::vector<std::string> units, std::vector<account_def> accounts,
               std::size_t max_queue, ledger_clock clock, std::optional<fleet_options> fleet)
    : defs_(std::move(budgets)), max_queue_(max_queue), clock_(std::move(clock)), fleet_(std::move(fleet)) {
    const unix_seconds now = clock_.wall();
    const steady_nanos steady = clock_.steady();
    budgets_.reserve(defs_.size());
    for (std::size_t i = 0; i < defs_.size(); ++i) {
        budget_state b;
        b.def = &defs_[i];
        b.unit = i < units.size() ? units[i] : std::string();
        b.window = window_at(defs_[i].period, now);
        b.tokens = defs_[i].rate.tokens * micro;  // a bucket starts full
        b.refilled_at = steady;
        b.history = spend_history(now);
        // In a fleet every budget is shared, except shadow concurrency and rate budgets: they
        // block nothing and have no spend to count.
        const bool metered = defs_[i].kind == budget_kind::credits || defs_[i].kind == budget_kind::money;
        if (fleet_ && (metered || defs_[i].mode == budget_mode::enforce)) {
            b.share.emplace();
            b.share->key = fleet_budget_key(defs_[i]);
            b.share->leases = defs_[i].mode == budget_mode::enforce;
            if (defs_[i].kind == budget_kind::rate) b.tokens = 0;  // tokens come from the central bucket
        }
        budgets_.push_back(std::move(b));
    }
    for (auto& a : accounts) {
        account_state state;
        state.def = std::move(a);
        accounts_.push_back(std::move(state));
    }
}

ledger::~ledger() {
    // Handles must not outlive their ledger; free what is left rather than leak it.
    while (held_head_) delete std::exchange(held_head_, held_head_->next);
}

void ledger::start_window(budget_state& b, unix_seconds now) {
    if (now < b.window.end) return;
    // A call belongs to the window it was admitted in: the new window starts empty.
    b.window = window_at(b.def->period, now);
    b.used = b.frozen = b.drift = money_sum();
    b.refused = 0;
    if (b.share) b.share->restart();
}

void ledger::refill(budget_state& b, steady_nanos now) {
    if (b.def->kind != budget_kind::rate || b.share) return;  // a shared bucket refills centrally
    const steady_nanos elapsed = now - b.refilled_at;
    if (elapsed <= 0) return;
    const std::int64_t capacity = b.def->rate.tokens * micro;
    // tokens/second = N / per_seconds; in millionths per nanosecond, kept exact in 128 bits.
    const __int128 gained = static_cast<__int128>(elapsed) * b.def->rate.tokens * micro /
                            (static_cast<__int128>(b.def->rate.per_seconds) * nanos_per_second);
    if (gained <= 0) return;  // keep refilled_at: the fraction accrues until a whole millionth
    const __int128 total = b.tokens + gained;
    b.tokens = total >= capacity ? capacity : static_cast<std::int64_t>(total);
    b.refilled_at = now;
}

ledger::check ledger::evaluate(const admission_request& request, bool queued_already, unix_seconds now,
                              steady_nanos steady) {
    check out;
    std::optional<refusal_detail> first_wait;
    auto wait_for = [&](const budget_state& b) {
        if (b.def->on_exceed != exceed_action::queue) return;
        out.queue_timeout_ms = out.queue_timeout_ms == 0 ? b.def->queue_timeout_ms : std::min(out.queue_timeout_ms, b.def->queue_timeout_ms);
    };
    for (const claim& c : request.claims) {
        budget_state& b = budgets_[c.budget];
        roll(b, now);
        refill(b, steady);
        const bool leased = b.share && b.share->leases;
        bool fits = false;
        if (leased) {
            fits = fits_lease(b, c, steady);
        } else {
            switch (b.def->kind) {
                case budget_kind::credits:
                case budget_kind::money: fits = b.shown_used() + b.shown_frozen() + c.amount <= money_sum(b.def->limit); break;
                case budget_kind::concurrency: fits = b.in_flight < b.def->max_concurrent; break;
                case budget_kind::rate: fits = b.tokens >= micro; break;
            }
        }
        // FIFO per budget: a newcomer does not pass calls already waiting for this budget.
        const bool queue = b.def->on_exceed == exceed_action::queue && b.def->mode == budget_mode::enforce;
        const bool behind = fits && queue && !queued_already && b.queued > 0;
        if (fits && !behind) continue;
        if (leased && !behind) {
            const lease_short why = why_lease_short(b, c, steady);
            if (why == lease_short::unavailable) {
                out.result = verdict::refuse;
                out.refusal = storage_refusal("the fleet's database cannot be reached and this instance's lease for budget " +
                                              b.def->id + " is spent");
                return out;
            }
            if (why == lease_short::wait_for_lease) {
                out.lease_short.push_back(c.budget);
                wait_for(b);
                continue;
            }
        }
        if (b.def->mode == budget_mode::shadow) {
            out.shadow_short.push_back(c.budget);
            continue;
        }
        const refusal_code kind = b.def->kind == budget_kind::concurrency ? refusal_code::concurrency_limit
                                  : b.def->kind == budget_kind::rate      ? refusal_code::rate_limited
                                                                          : refusal_code::budget_exhausted;
        refusal_detail detail = describe(b, c, kind);
        if (!waiting_helps(b, c, detail, now)) {
            ++b.refused;
            out.result = verdict::refuse;
            out.refusal = std::move(detail);
            return out;
        }
        out.short_budgets.push_back(c.budget);
        wait_for(b);
        if (!first_wait) first_wait = std::move(detail);
    }
    if (auto short_account = account_short(request)) {
        out.result = verdict::refuse;
        out.refusal = std::move(short_account);
    } else if (!out.short_budgets.empty() || !out.lease_short.empty()) {
        out.result = verdict::wait;
        out.refusal = std::move(first_wait);
        if (out.queue_timeout_ms == 0 && fleet_) out.queue_timeout_ms = fleet_->lease_wait_ms;
    }
    return out;
}

admission ledger::apply(admission_request&& request, const check& c, std::unique_ptr<held_call> owned) {
    held_call& call = *owned;
    call.id = next_id_++;
    admission out;
    out.result = admission::outcome::admitted;
    out.shadow_would_reject = !c.shadow_short.empty();
    for (const claim& cl : request.claims) {
        budget_state& b = budgets_[cl.budget];
        switch (b.def->kind) {
            case budget_kind::credits:
            case budget_kind::money: b.frozen += cl.amount; break;
            case budget_kind::concurrency: ++b.in_flight; break;
            case budget_kind::rate:
                if (b.share) b.share->spent += micro;  // a leased token is gone once admitted
                else b.tokens -= micro;
                break;
        }
        if (b.share) b.note_demand(cl, call.admitted_at);
        if (std::find(c.shadow_short.begin(), c.shadow_short.end(), cl.budget) != c.shadow_short.end()) ++b.would_block;
        if (b.metered() && b.def->soft_limit) {
            const auto threshold = b.def->limit.times(*b.def->soft_limit, money::rounding::up);
            const money_sum committed = b.shown_used() + b.shown_frozen();
            if (threshold && committed >= money_sum(*threshold))
                out.warnings.push_back("soft-limit budget=" + b.def->id + " used=" + committed.to_money().to_string() +
                                       " limit=" + b.def->limit.to_string());
        }
        call.claims.push_back({cl.budget, cl.amount, cl.usd_per_unit, b.window.start});  // capacity reserved outside the lock
    }
    out.reserved = request.estimate;
    if (request.account) {
        account_state& a = accounts_[*request.account];
        out.balance_delta_eligible = a.in_flight == 0;
        out.balance_before = a.reading;
        a.frozen += request.estimate;
        ++a.in_flight;
        call.account = request.account;
        call.account_amount = request.estimate;
    }
    held_call* raw = owned.release();
    raw->next = held_head_;
    if (held_head_) held_head_->prev = raw;
    held_head_ = raw;
    out.held = reservation(this, raw, raw->id);
    return out;
}

admission ledger::admit(admission_request request, std::function<void(admission)> on_admitted) {
    // Everything that allocates or reads a clock happens before the lock is taken.
    auto record = std::make_unique<held_call>();
    record->claims.reserve(request.claims.size());
    record->labels = std::move(request.labels);
    record->admitted_at = clock_.steady();
    const unix_seconds now = clock_.wall();
    admission out;
    {
        std::lock_guard lock(mutex_);
        const check c = evaluate(request, false, now, record->admitted_at);
        if (c.result == verdict::fits) return apply(std::move(request), c, std::move(record));
        if (c.result == verdict::refuse) {
            out.result = admission::outcome::refused;
            out.refusal = c.refusal;
            return out;
        }
        // A wait for a lease lasts one exchange with the central rows: not a place in the queue.
        if (!c.lease_only() && waiters_.size() >= max_queue_) {
            refusal_detail r = c.refusal.value_or(refusal_detail{});
            r.kind = refusal_code::queue_full;
            r.retry_after_s = 1;
            r.message = "the queue is full (" + std::to_string(max_queue_) + " calls wait already)";
            out.result = admission::outcome::refused;
            out.refusal = std::move(r);
            return out;
        }
        const std::uint64_t ticket = next_id_++;
        request.labels = std::move(record->labels);  // it waits with its labels
        for (const claim& cl : request.claims) {
            if (budgets_[cl.budget].def->on_exceed == exceed_action::queue) ++budgets_[cl.budget].queued;
        }
        waiters_.push_back(waiter{ticket, std::move(request), std::move(on_admitted), c.lease_only(), !c.lease_only()});
        out.result = admission::outcome::queued;
        out.ticket = ticket;
        out.queue_timeout_ms = c.queue_timeout_ms;
        out.refusal = c.refusal;
        if (c.lease_short.empty()) return out;
    }
    wake_fleet();
    return out;
}

void ledger::settle(held_call* raw, std::optional<money> actual) {
    std::unique_ptr<held_call> owned(raw);  // freed after the lock is released
    std::vector<std::pair<std::function<void(admission)>, admission>> ready;
    const unix_seconds wall_now = clock_.wall();
    {
        std::lock_guard lock(mutex_);
        if (raw->prev) raw->prev->next = raw->next;
        else held_head_ = raw->next;
        if (raw->next) raw->next->prev = raw->prev;
        const held_call& call = *raw;
        for (const held_claim& c : call.claims) {
            budget_state& b = budgets_[c.budget];
            roll(b, wall_now);
            switch (b.def->kind) {
                case budget_kind::credits:
                case budget_kind::money: {
                    if (c.window_start != b.window.start) break;  // its window is over; nothing of it counts now
                    b.frozen -= c.amount;
                    if (actual) {
                        // An actual whose dollars do not fit counts as the most it can: the
                        // budget then reads exhausted rather than cheaper than it is.
                        const money committed =
                            c.usd_per_unit ? actual->times(*c.usd_per_unit, money::rounding::half_even)
                                                 .value_or(money::from_micros(INT64_MAX))
                                           : *actual;
                        if (b.share) b.share->spent += committed.micros();  // flows to the central row at the next exchange
                        else b.used += committed;
                        b.history.add(wall_now, committed);
                        if (committed > c.amount) b.drift += money_sum(committed) - c.amount;
                    }
                    break;
                }
                case budget_kind::concurrency: --b.in_flight; break;
                case budget_kind::rate: break;  // a token is spent by admission, whatever happens next
            }
        }
        if (call.account) {
            account_state& a = accounts_[*call.account];
            a.frozen -= call.account_amount;
            --a.in_flight;
            if (actual) a.settled_since_reading += *actual;
        }
        if (!waiters_.empty()) drain_waiters(ready);
    }
    for (auto& [callback, decided] : ready) callback(std::move(decided));
}

}  // namespace creditgate::policies
