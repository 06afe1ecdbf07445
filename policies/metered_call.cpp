#include "policies/metered_call.hpp"

#include "policies/metering.hpp"

#include <utility>

namespace creditgate::policies {

metered_call::metered_call(std::unique_ptr<state> s) : state_(std::move(s)) {
    // The pending row: after a crash, the call counts at what it reserved (SPEC §7).
    if (state_->row) {
        call_row pending = *state_->row;
        pending.cost_usd = reserved_usd(state_->reserved, state_->vendor->usd_per_unit);
        append(std::move(pending));
    }
}

metered_call& metered_call::operator=(metered_call&& other) noexcept {
    if (this == &other) return *this;
    if (state_) finish(0);  // whatever this one held ends before it takes another
    state_ = std::move(other.state_);
    return *this;
}

metered_call::~metered_call() {
    if (state_) finish(0);
}

bool metered_call::commit(const settlement& s) {
    if (!state_ || state_->settled) return false;
    state_->settled = true;
    state_->actual = s.actual;
    state_->held.commit(s.actual);
    state_->books->note_answer(*this, s);
    return true;
}

bool metered_call::abort(policies::decision why) {
    if (!state_ || state_->settled) return false;
    state_->settled = true;
    state_->decision = why;
    state_->held.release();
    return true;
}

void metered_call::finish(unsigned status) {
    if (!state_ || state_->finished) return;
    abort(policies::decision::client_aborted);  // nothing when settled already
    state_->finished = true;
    if (!state_->row) return;
    call_row row = std::move(*state_->row);
    const ledger_clock& clock = state_->books->clock();
    row.finished_at = clock.millis();
    row.status = status;
    row.decision = state_->decision;
    row.actual = state_->actual;
    row.cost_usd = settled_usd(state_->actual, state_->vendor->usd_per_unit);
    row.latency_ms = (clock.steady() - state_->started) / 1'000'000;
    append(std::move(row));
}

void metered_call::append(call_row row) { state_->books->store().append(std::move(row)); }

}  // namespace creditgate::policies
