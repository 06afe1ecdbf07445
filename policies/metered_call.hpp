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
#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

class metering;
struct call_facts;

class metered_call {
public:
    metered_call() = default;
    metered_call(metered_call&& other) noexcept;
    metered_call& operator=(metered_call&& other) noexcept;
    metered_call(const metered_call&) = delete;
    metered_call& operator=(const metered_call&) = delete;
    ~metered_call();

    explicit operator bool() const { return books_ != nullptr; }
    bool settled() const { return settled_; }
    // allowed, queued_allowed or shadow_would_reject until settled; then how it was settled.
    policies::decision decision() const { return decision_; }
    money estimate() const { return estimate_; }  // the rules', for settlement's fallback
    money reserved() const { return reserved_; }  // what is frozen: the estimate, or more (bounded drift)
    // What settlement rule 3 needs: the account's reading at admission, and whether this call
    // was the only one in flight on it.
    balance_context balance() const { return balance_; }
    const std::vector<std::string>& warnings() const { return warnings_; }  // soft limits passed

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
    metered_call(metering& books, admission admitted, policies::decision how, call_row row, bool keep_rows,
                 const call_facts& facts, std::optional<std::size_t> account);
    void append(call_row row);

    metering* books_ = nullptr;
    const vendor_profile* vendor_ = nullptr;
    reservation held_;
    call_row row_;           // its labels, filled only when the store keeps rows
    bool keep_rows_ = false;
    policies::decision decision_ = policies::decision::allowed;
    money estimate_, reserved_, actual_;
    std::uint64_t rules_matched_ = 0;
    std::optional<std::size_t> account_;
    balance_context balance_;
    std::vector<std::string> warnings_;
    steady_nanos started_ = 0;  // the exchange's start, for the row's latency
    bool settled_ = false, finished_ = false;
};

}  // namespace creditgate::policies
