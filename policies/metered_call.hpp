#pragma once
// metered_call: one call its budgets admitted, from admission to the end of its exchange — the
// one owner of its reservation and of its ledger rows (SPEC §7). Made only by the books facade
// (metering.hpp). It is settled exactly once: commit() with what the vendor's answer cost, or
// abort() when no answer came; a call destroyed without either (its client left, its coroutine
// was destroyed at shutdown) aborts as client_aborted. Its pending row is written at admission,
// its finished row by finish() or, failing that, by its destructor. Move-only; a moved-from call
// holds nothing and does nothing.

#include "policies/account_ref.hpp"
#include "policies/decision.hpp"
#include "policies/ledger.hpp"
#include "policies/settlement.hpp"
#include "policies/store/call_row.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

class metering;
struct call_facts;

class metered_call {
public:
    metered_call() = default;
    metered_call(metered_call&& other) noexcept = default;
    metered_call& operator=(metered_call&& other) noexcept;
    metered_call(const metered_call&) = delete;
    metered_call& operator=(const metered_call&) = delete;
    ~metered_call();

    explicit operator bool() const { return state_ != nullptr; }
    bool settled() const { return state_ && state_->settled; }
    // allowed, queued_allowed or shadow_would_reject until settled; then how it was settled.
    policies::decision decision() const { return state_->decision; }
    money estimate() const { return state_->estimate; }  // the rules', for settlement's fallback
    money reserved() const { return state_->reserved; }  // what is frozen: the estimate, or more (bounded drift)
    // What settlement rule 3 needs: the account's reading at admission, and whether this call
    // was the only one in flight on it.
    balance_context balance() const { return state_->balance; }
    const std::vector<std::string>& warnings() const { return state_->warnings; }  // soft limits passed

    // The vendor answered: the reservation becomes what `s` says the call cost; a balance
    // reading and an out-of-credit answer go to the account; an actual above the estimate is
    // remembered for later reservations. False (and nothing happens) when already settled.
    bool commit(const settlement& s);
    // No answer came: the reservation is released, nothing is charged. `why` is upstream_error,
    // upstream_timeout or client_aborted. False when already settled.
    bool abort(policies::decision why);
    // The exchange is over; `status` is what the client got. Writes the finished row (settling as
    // client_aborted first when nothing settled the call). Once; later calls do nothing.
    void finish(unsigned status);

private:
    friend class metering;
    // One allocation a call: a call moves from admission to its exchange as one pointer.
    struct state {
        metering* books;
        const vendor_profile* vendor;
        reservation held;
        std::unique_ptr<call_row> row;  // its labels, only when the store keeps rows
        policies::decision decision;
        money estimate, reserved, actual;
        std::uint64_t rules_matched;
        std::optional<std::size_t> account;
        balance_context balance;
        std::vector<std::string> warnings;
        steady_nanos started;  // the exchange's start, for the row's latency
        bool settled = false, finished = false;
    };
    explicit metered_call(std::unique_ptr<state> s);
    void append(call_row row);

    std::unique_ptr<state> state_;
};

}  // namespace creditgate::policies
