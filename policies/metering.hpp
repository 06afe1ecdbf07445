#pragma once
// metering: the books facade, the one way into the ledger. From one call's facts (who, which
// vendor and account, which path, the estimate) to the claims on every budget that applies and on
// to the ledger's decision: a metered_call that owns the reservation, a refusal (its ledger row
// written here), or a place in a queue. Balance readings, exhausted marks and the views the admin
// API shows go through here too. Knows budgets and accounts by name; the proxy never matches them.

#include "policies/account_ref.hpp"
#include "policies/cost_model.hpp"
#include "policies/ledger.hpp"
#include "policies/metered_call.hpp"
#include "policies/price_memory.hpp"
#include "policies/store/ledger_store.hpp"
#include "policies/vendor_profile.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

struct account_binding {
    std::string id;
    std::string vendor;
    std::optional<std::string> api_key;  // secret
    bool inject = false;
};

// One call, as admission and its ledger rows see it. Views into the caller's data: they must
// outlive every call on the facade that takes them.
struct call_facts {
    std::string_view request_id;
    std::string_view client, team;
    const vendor_profile* vendor = nullptr;
    const account_ref* account = nullptr;
    std::string_view method, host, path;  // the path without its query
    money estimate;                       // the rules' (or the client's cap)
    std::uint64_t rules_matched = 0;      // cost_estimate::rules_matched
    steady_nanos started = 0;             // when the exchange began (the rows' latency); 0: at admission
};

// What admission answers.
struct admission_outcome {
    enum class kind { admitted, refused, queued } result = kind::refused;
    metered_call call;                       // admitted
    std::optional<refusal_detail> refusal;   // refused (its row is written), or why a queued call waits
    std::uint64_t ticket = 0;                // queued: for resume, give_up and leave_queue
    std::int64_t queue_timeout_ms = 0;       // queued: how long it may wait
};

class metering {
public:
    // `store` receives every row; a store that keeps nothing (memory) gets none built.
    metering(std::vector<budget_def> budgets, const std::vector<vendor_profile>& vendors, std::vector<account_binding> accounts,
             std::size_t max_queue, std::shared_ptr<ledger_store> store, ledger_clock clock = ledger_clock::system());
    // With a shared store, what the books hold goes back to the fleet.
    ~metering();
    metering(const metering&) = delete;
    metering& operator=(const metering&) = delete;

    // The account a request's API key names; nullopt for a key no account names.
    const account_binding* account_for_key(const vendor_profile& vendor, std::string_view key) const;
    // The account that supplies a key when the request has none (inject: true), if any.
    const account_binding* injecting_account(const vendor_profile& vendor) const;

    // Sets every credits and money budget's used to what the store holds for its current window
    // (finished calls at their actual, pending ones at what they reserved). False with `error`
    // when the store cannot be read.
    bool recompute_used(std::string& error);

    // What a call reserves: its estimate, and at least the largest actual seen in the last 24 h
    // for its vendor and cost rules (SPEC §5's bounded drift).
    money reservation_for(const vendor_profile& vendor, const cost_estimate& estimate) const;
    // What admitting this call would claim from each budget, without admitting it (estimates).
    admission_request preview(const call_facts& f) const { return plan(f, std::nullopt); }

    // SPEC §5 step 2. A queued call's `on_ready` runs later, once, on whatever thread made room,
    // unless give_up() or leave_queue() took it out first: hand its admission to resume() on the
    // caller's own thread.
    admission_outcome admit(const call_facts& facts, std::function<void(admission)> on_ready);
    admission_outcome resume(admission ready, const call_facts& facts);
    // A queued call waited its queue timeout: its refusal (with its row), or nullopt when it was
    // admitted meanwhile and its on_ready is on its way.
    std::optional<refusal_detail> give_up(std::uint64_t ticket, const call_facts& facts);
    // A queued call's exchange is gone (shutdown): out of the queue, no row.
    void leave_queue(std::uint64_t ticket);
    // Rate buckets refill and periods end without any call settling: let waiters in.
    void poke();

    // Balances: a poll's reading, a poll's failure (nullopt clears it), an admin's reset.
    void record_balance(std::size_t account, money reading, balance_source source);
    void record_poll_error(std::size_t account, std::optional<std::string> error);
    bool reset_account(std::string_view id);
    std::optional<std::size_t> account_index(const account_ref& account) const;
    std::optional<std::size_t> account_index(std::string_view books_key) const { return ledger_->account_index(books_key); }

    std::vector<budget_view> budgets() const { return ledger_->budgets(); }
    std::vector<account_view> accounts() const { return ledger_->accounts(); }
    std::vector<reservation_view> reservations() const { return ledger_->reservations(); }
    const std::vector<budget_def>& definitions() const { return ledger_->definitions(); }

private:
    friend class metered_call;
    admission_request plan(const call_facts& facts, std::optional<std::size_t> account) const;
    bool applies(const budget_def& b, const call_facts& f) const;
    admission_outcome wrap(admission a, const call_facts& facts, decision how, std::optional<std::size_t> account);
    call_row row_of(const call_facts& facts, money reserved) const;
    void write_refusal_row(const call_facts& facts, const refusal_detail& why, decision how);
    // For metered_call: what a settled answer tells the books besides its cost.
    void note_answer(const metered_call& call, const settlement& s);
    ledger_store& store() { return *store_; }
    const ledger_clock& clock() const { return clock_; }

    std::vector<std::string> vendor_units_;  // per budget
    std::vector<account_binding> accounts_;
    std::shared_ptr<ledger_store> store_;
    ledger_clock clock_;
    price_memory prices_;
    std::shared_ptr<ledger> ledger_;  // shared with a fleet store, which holds it weakly
    std::uint32_t holder_ = 0;
};

}  // namespace creditgate::policies
