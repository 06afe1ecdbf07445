#pragma once
// lease: what one process's books and the fleet's central budget rows (SPEC §10) say to each
// other, and how big a lease should be. The books admit against leases they hold; an exchange
// with the central rows reports what was spent and given back, asks for more, and brings back
// the fleet's figures. Plain values: the ledger fills and reads them, a shared store
// (postgres_store) carries them, tests play the central side in memory.
//
// Amounts are "lease units": µ of the budget's unit for credits and money, slots for
// concurrency, millionths of a token for rates. Spent and returned are cumulative per holder
// and period, so a report that reaches the database twice (an answer lost on the way back)
// counts once.

#include "policies/budget.hpp"
#include "policies/period.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

using lease_amount = __int128;

std::string to_decimal(lease_amount value);
std::optional<lease_amount> parse_lease_amount(std::string_view text);  // an integer, any size up to 38 digits

// The central row a budget's window maps to. `key` changes when what the budget counts
// changes (vendor, unit, scope, period): a changed budget starts a fresh row, seeded from the
// ledger's rows, instead of inheriting a count of something else.
std::string fleet_budget_key(const budget_def& budget);

// What the rows of the shared ledger say a new central row starts from (SPEC §7: finished calls
// at their actual, pending ones at what they reserved). Credits and money only.
struct fleet_seed {
    std::string vendor;  // "*" for any
    budget_scope scope;
    bool in_usd = false;
};

// The fleet's figures for one budget window, as of one exchange.
struct central_view {
    bool known = false;
    lease_amount limit = 0;
    lease_amount used = 0;           // credits and money: spend the fleet reported (and reclaimed reservations)
    lease_amount leased = 0;         // held by every holder, this one included
    lease_amount others_frozen = 0;  // reservations (or calls in flight) of every other holder
    lease_amount tokens = 0;         // rates: the central bucket, refilled to the exchange's time
    lease_amount granted = 0;        // this holder's cumulative grants for the window
    lease_amount free() const { return limit - used - leased; }
};

// One budget window in one exchange: the holder's report and its request.
struct lease_report {
    std::size_t budget = 0;  // the ledger's index
    std::string key, id;
    budget_kind kind = budget_kind::credits;
    bool leases = true;  // false for shadow budgets: they report spend and never take a lease
    period_window window;
    lease_amount limit = 0;           // µ, slots, or millionths of a token (the bucket's size)
    lease_amount refill_per_s = 0;    // rates: millionths of a token per second
    bool ensure_row = false;          // the central row may not exist yet: create it
    std::optional<fleet_seed> seed;   // credits and money: what a new central row starts from
    lease_amount spent = 0;           // cumulative
    lease_amount returned = 0;        // cumulative
    lease_amount frozen = 0;          // now: reservations, or calls in flight
    lease_amount ask_min = 0;         // 0: no request; else the least grant that lets the waiting calls in
    lease_amount ask_want = 0;        // the most worth taking (≥ ask_min)
    lease_amount claim_least = 0;     // the smallest waiting call's claim: the central row refuses
                                      // only when not even that fits beside everyone's reservations
    bool for_waiting = false;         // calls wait for this ask: a refusal refuses them
    bool final = false;               // the window is over, or its holder is gone: its row goes once reported
};

// A vendor account's shared state (SPEC §10): the latest reading, exhausted mark and poll error,
// each with the time it was set (UTC ms); the newest wins across the fleet.
struct account_report {
    std::string id;  // the configured account id
    std::string vendor;
    std::optional<std::int64_t> reading;  // µ of the vendor's unit
    std::string source = "none";
    std::int64_t reading_ms = 0;
    bool exhausted = false;
    std::int64_t exhausted_ms = 0;
    std::optional<std::string> poll_error;
    std::int64_t error_ms = 0;
};

// What the books hand over for one exchange.
struct lease_work {
    std::uint32_t holder = 0;  // which books of this process (a reload makes new ones)
    std::vector<lease_report> reports;
    std::vector<account_report> accounts;  // changed here since the last answer (regular exchanges)
    bool urgent = false;       // calls wait for an answer
};

// The central side's answer to one report.
struct lease_reply {
    std::size_t budget = 0;
    period_window window;
    central_view view;
    bool asked = false;
    bool denied = false;  // asked, and the budget cannot cover the smallest waiting call even once
                          // every holder's spare lease is back (otherwise: no grant, ask again)
    lease_amount grant = 0;
};

struct lease_answer {
    std::vector<lease_reply> replies;  // one per report, in order
    int instances = 1;                 // live instances sharing the rows
    std::vector<account_report> accounts;  // the fleet's account states (regular exchanges)
};

// Budgets shared by a fleet (SPEC §10): every budget's capacity comes from leases on its
// central row instead of its limit. Admission and settlement stay local and immediate; a call
// a lease cannot cover waits for one exchange with the central rows (lease_work / lease_answer).
struct fleet_options {
    std::int64_t target_s = 10;          // a lease covers about this much of the demand; idle this long returns it
    std::int64_t ttl_s = 30;             // leases of a holder silent this long are reclaimed by the others
    std::int64_t lease_wait_ms = 10'000; // how long a call waits for the central rows before 503
    // A call waits for a lease: exchange now. Called outside the ledger's lock, on the admitting thread.
    std::function<void()> wake = nullptr;
};

// How big a lease to hold (SPEC §10): about target_s seconds of this holder's demand, never more
// than its fair share of what the budget has left, so that near the limit leases shrink until
// each waiting call reserves against the central row itself.
struct lease_inputs {
    lease_amount held = 0;     // granted − spent − returned: this holder's capacity
    lease_amount in_use = 0;   // reservations or calls in flight within it
    lease_amount need = 0;     // what calls waiting for this budget lack beyond what is free now
    lease_amount need_least = 0;  // what lets the smallest of them in (0: need)
    lease_amount demand = 0;   // target_s worth of recent demand
    lease_amount limit = 0;
    lease_amount used = 0;     // the fleet's (credits and money; 0 otherwise)
    int instances = 1;
    bool idle = false;         // no call for target_s: everything unused goes back
    lease_amount unit = 0;     // the size of a recent call: a lease smaller than that is kept by nobody
};

struct lease_plan {
    lease_amount ask_min = 0, ask_want = 0;  // a take (0: none)
    lease_amount give_back = 0;              // unused lease to return
};

lease_plan plan_lease(const lease_inputs& in);

// The demand meter behind lease_inputs::demand: units taken per second, smoothed over target_s
// but quick to rise, so that a burst gets a lease its size at its first exchange.
class demand_meter {
public:
    void add(lease_amount amount) { pending_ += amount; }
    // Folds what was added since the last call into the rate; `elapsed_ns` since that call.
    void update(std::int64_t elapsed_ns, std::int64_t target_s);
    // target_s seconds' worth at the current rate.
    lease_amount demand(std::int64_t target_s) const;

private:
    lease_amount pending_ = 0;
    double smoothed_ = 0;  // units per second
    double latest_ = 0;
};

}  // namespace creditgate::policies
