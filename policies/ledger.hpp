#pragma once
// ledger: the live state of every budget and account. Admission reserves all-or-nothing
// across every budget that applies and the account's known balance; a call is committed at
// its actual cost or released, exactly once; calls that may wait are queued FIFO per budget
// and admitted when everything fits at once. One mutex, no I/O: the callbacks of admitted
// waiters run after the lock is released.

#include "policies/account_ref.hpp"
#include "policies/adaptive_mutex.hpp"
#include "policies/budget.hpp"
#include "policies/lease.hpp"
#include "policies/money.hpp"
#include "policies/period.hpp"
#include "policies/refusal_code.hpp"
#include "policies/reservation.hpp"

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace creditgate::policies {

using steady_nanos = std::int64_t;

// Injected so that tests can move time (period roll-over, token refill, queue deadlines).
struct ledger_clock {
    std::function<unix_seconds()> wall;   // UTC seconds: periods
    std::function<steady_nanos()> steady;  // monotonic nanoseconds: rates, latencies
    std::function<std::int64_t()> wall_ms = nullptr;  // UTC milliseconds: ledger rows; empty: wall() × 1000
    std::int64_t millis() const { return wall_ms ? wall_ms() : wall() * 1000; }
    static ledger_clock system();
};

struct account_def {
    account_ref ref;  // keyed by ref.books_key(); shown as ref.name()
    std::string vendor;
};

// What one call asks of one budget.
struct claim {
    std::size_t budget = 0;
    money amount;                       // vendor units, or µ$ for money budgets; unused for concurrency and rate
    std::optional<money> usd_per_unit = std::nullopt;  // money budgets: how the actual converts at settlement
};

struct call_labels {
    std::string request_id, client, team, vendor, account;
};

struct admission_request {
    std::vector<claim> claims;
    std::optional<std::size_t> account;  // the account whose known balance must cover the estimate
    money estimate;                      // vendor units
    call_labels labels;
};

// Why the books refused a call: budget_exhausted, upstream_credits_exhausted, concurrency_limit,
// rate_limited, queue_timeout or queue_full, with what a client needs to know about it.
struct refusal_detail {
    refusal_code kind = refusal_code::budget_exhausted;
    std::string budget;  // empty for account refusals
    std::string unit;
    money limit, used, frozen, remaining, cost;
    std::optional<std::int64_t> retry_after_s;
    std::optional<unix_seconds> reset_at;  // a budget with a period: when it starts afresh (SPEC §5)
    std::string message;
};

struct admission {
    enum class outcome { admitted, refused, queued } result = outcome::refused;
    reservation held;
    std::optional<refusal_detail> refusal;
    std::uint64_t ticket = 0;           // queued: for cancel_wait
    bool queued = false;                // admitted after waiting for a queue budget (not only for a lease)
    std::int64_t queue_timeout_ms = 0;  // queued: how long it may wait
    bool shadow_would_reject = false;
    money reserved;                     // admitted: what the call froze, in the vendor's unit
    bool balance_delta_eligible = false;  // no other call on the account in flight at admission
    std::optional<money> balance_before;  // the account's reading at admission
    std::vector<std::string> warnings;  // soft-limit warnings, header-ready
};

enum class balance_source { none, header, poll };
std::string_view to_string(balance_source source);

struct budget_view {
    const budget_def* def;
    std::string unit;
    money limit, used, frozen, remaining, drift;
    period_window window;
    std::size_t queued = 0;
    std::uint64_t would_block = 0;
    bool soft_limit_reached = false;
    std::optional<unix_seconds> forecast_exhausted_at = std::nullopt;
    std::uint64_t refused = 0;  // calls it refused in this window  // credits and money: when it runs out at the recent rate
};

// A budget's unit as views show it: its own ("credits", "usd", ...), else "calls" for
// concurrency and "tokens" for rate budgets.
inline std::string_view shown_unit(const budget_view& b) {
    if (!b.unit.empty()) return b.unit;
    return b.def->kind == budget_kind::concurrency ? "calls" : "tokens";
}

struct account_view {
    std::string id, vendor;
    std::optional<money> remaining;
    balance_source source = balance_source::none;
    std::optional<unix_seconds> updated_at;
    money frozen, drift;
    bool exhausted = false;
    std::optional<std::string> poll_error;
    std::int64_t poll_failures = 0;    // in a row
    unix_seconds failing_since = 0;    // when that streak began
    unix_seconds exhausted_since = 0;  // when it was marked exhausted (by this instance)
};

struct reservation_view {
    std::uint64_t id;
    call_labels labels;
    money amount;
    std::vector<std::string> budgets;
    steady_nanos age_ns;
};

class ledger {
public:
    // `units[i]` is budgets[i]'s unit ("usd" or the vendor's).
    ledger(std::vector<budget_def> budgets, std::vector<std::string> units, std::vector<account_def> accounts,
           std::size_t max_queue, ledger_clock clock = ledger_clock::system(),
           std::optional<fleet_options> fleet = std::nullopt);
    ~ledger();
    ledger(const ledger&) = delete;
    ledger& operator=(const ledger&) = delete;

    // Admits, refuses, or queues. A queued call's `on_admitted` runs later, once, outside the
    // lock, on the thread that made room — unless cancel_wait() took the call out first.
    admission admit(admission_request request, std::function<void(admission)> on_admitted);

    // The queued call gives up (its timeout): the queue_timeout refusal, or nullopt when it was
    // admitted meanwhile (its on_admitted has run or is about to).
    std::optional<refusal_detail> cancel_wait(std::uint64_t ticket);

    // Re-examines the queue: rate buckets refill and periods end without any call settling.
    void poke();
    bool has_waiters() const;

    void record_balance(std::size_t account, money reading, balance_source source);
    // A poll that failed (the reading stays); nullopt clears the error after a good poll.
    void record_poll_error(std::size_t account, std::optional<std::string> error);
    // What the persistent ledger says a credits or money budget used in `window` before this
    // process counted anything (start, reload); ignored when the budget is in another window.
    void seed_used(std::size_t budget, const period_window& window, money used);
    void mark_exhausted(std::size_t account);
    bool reset_account(std::string_view id);
    std::optional<std::size_t> account_index(std::string_view books_key) const;
    std::optional<std::size_t> account_index(const account_ref& ref) const;

    // ---- the fleet (SPEC §10); only with fleet_options ----
    bool shared() const { return fleet_.has_value(); }
    // What to tell the central rows now: spend and returns since the last answer (cumulative),
    // what waiting calls need, windows that ended. `urgent`: only because calls wait.
    lease_work take_lease_work(std::uint32_t holder, bool urgent);
    // The central rows answered `work` (sent at steady time `sent_at`): grants and the fleet's
    // figures. Waiting calls are admitted or refused; leases stay valid for 2/3 ttl_s from `sent_at`.
    void apply_lease_answer(const lease_work& work, const lease_answer& answer, steady_nanos sent_at);
    // The exchange failed: calls waiting for a lease hear 503, new ones too until an answer comes.
    // Cumulative reports need no undo: the next exchange carries them again.
    void lease_exchange_failed();
    // This holder's leases were reclaimed by the fleet (it was silent for ttl_s): it holds nothing.
    void leases_lost();
    // Everything unused goes back: the last work of books that are being replaced or stopped.
    lease_work final_lease_work(std::uint32_t holder);
    // Whether any call waits for an exchange.
    bool lease_wanted() const;
    // The books' monotonic clock: when an exchange was sent, for apply_lease_answer.
    steady_nanos steady_now() const { return clock_.steady(); }

    std::vector<budget_view> budgets() const;
    std::vector<account_view> accounts() const;
    std::vector<reservation_view> reservations() const;
    const std::vector<budget_def>& definitions() const { return defs_; }

private:
    friend class reservation;
    struct budget_state;
    struct account_state;
    struct held_claim;
    struct held_call;
    struct waiter;
    struct share_state;
    enum class verdict { fits, wait, refuse };
    struct check;

    void settle(held_call* call, std::optional<money> actual);  // nullopt = release
    check evaluate(const admission_request& request, bool queued_already, unix_seconds now, steady_nanos steady);
    admission apply(admission_request&& request, const check& c, std::unique_ptr<held_call> call);
    // A new window when `now` is past the current one: roll() also keeps a shared budget's old
    // window for one last report; start_window() is the pure part (views roll copies with it).
    void roll(budget_state& b, unix_seconds now);
    static void start_window(budget_state& b, unix_seconds now);
    static void refill(budget_state& b, steady_nanos now);  // a local token bucket
    void drain_waiters(std::vector<std::pair<std::function<void(admission)>, admission>>& ready);
    refusal_detail describe(const budget_state& b, const claim& c, refusal_code kind) const;
    static bool waiting_helps(const budget_state& b, const claim& c, refusal_detail& detail, unix_seconds now);
    std::optional<refusal_detail> account_short(const admission_request& request) const;
    // Shared budgets: whether a claim fits the lease, and what to do when it does not.
    bool fits_lease(const budget_state& b, const claim& c, steady_nanos steady) const;
    enum class lease_short { wait_for_lease, unavailable, exhausted };
    lease_short why_lease_short(const budget_state& b, const claim& c, steady_nanos steady) const;
    lease_report report_of(const budget_state& b, std::size_t index) const;
    static account_report account_report_of(const account_state& a);
    void apply_account_reports(const lease_work& work, const std::vector<account_report>& fleet);
    // What calls waiting for a shared budget claim in all, and the smallest claim among them.
    std::pair<lease_amount, lease_amount> waiting_for(std::size_t budget) const;
    static lease_amount lack_of(const budget_state& b, const claim& c);
    void wake_fleet() const { if (fleet_ && fleet_->wake) fleet_->wake(); }

    mutable adaptive_mutex mutex_;
    std::vector<budget_def> defs_;
    std::vector<budget_state> budgets_;
    std::vector<account_state> accounts_;
    // Calls in flight: an intrusive list, so that admission links a record allocated before
    // the lock was taken and settlement unlinks one to free after it is released.
    held_call* held_head_ = nullptr;
    std::list<waiter> waiters_;
    // drain_waiters' budgets a waiter is stuck on, by budget index: reused, so a drain over
    // thousands of waiters costs a flag test per claim, not a tree insert (issue 22).
    std::vector<char> blocked_;
    std::size_t max_queue_;
    ledger_clock clock_;
    std::uint64_t next_id_ = 1;
    // The fleet: its settings, whether the central rows answer, until when the leases held are
    // sure to be this holder's, windows that ended and are yet to be reported.
    std::optional<fleet_options> fleet_;
    bool fleet_online_ = true;
    steady_nanos leases_valid_until_ = INT64_MAX;
    int instances_ = 1;
    steady_nanos last_work_at_ = 0;
    std::vector<lease_report> ended_windows_;
};

}  // namespace creditgate::policies
