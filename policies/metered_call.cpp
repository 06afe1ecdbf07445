#include "policies/metered_call.hpp"

#include "policies/metering.hpp"

#include <utility>

namespace creditgate::policies {

metered_call::metered_call(metering& books, admission admitted, policies::decision how, call_row row, bool keep_rows,
                           const call_facts& facts, std::optional<std::size_t> account)
    : books_(&books),
      vendor_(facts.vendor),
      held_(std::move(admitted.held)),
      row_(std::move(row)),
      keep_rows_(keep_rows),
      decision_(how),
      estimate_(facts.estimate),
      reserved_(admitted.reserved),
      rules_matched_(facts.rules_matched),
      account_(account),
      balance_{admitted.balance_before, admitted.balance_delta_eligible},
      warnings_(std::move(admitted.warnings)),
      started_(facts.started != 0 ? facts.started : books.clock().steady()) {
    // The pending row: after a crash, the call counts at what it reserved (SPEC §7).
    if (keep_rows_) {
        call_row pending = row_;
        pending.cost_usd = reserved_usd(reserved_, vendor_->usd_per_unit);
        append(std::move(pending));
    }
}

metered_call::metered_call(metered_call&& other) noexcept { *this = std::move(other); }

metered_call& metered_call::operator=(metered_call&& other) noexcept {
    if (this == &other) return *this;
    if (books_) finish(0);  // whatever this one held ends before it takes another
    books_ = std::exchange(other.books_, nullptr);
    vendor_ = other.vendor_;
    held_ = std::move(other.held_);
    row_ = std::move(other.row_);
    keep_rows_ = other.keep_rows_;
    decision_ = other.decision_;
    estimate_ = other.estimate_;
    reserved_ = other.reserved_;
    actual_ = other.actual_;
    rules_matched_ = other.rules_matched_;
    account_ = other.account_;
    balance_ = other.balance_;
    warnings_ = std::move(other.warnings_);
    started_ = other.started_;
    settled_ = other.settled_;
    finished_ = other.finished_;
    return *this;
}

metered_call::~metered_call() {
    if (books_) finish(row_.status);
}

bool metered_call::commit(const settlement& s) {
    if (!books_ || settled_) return false;
    settled_ = true;
    actual_ = s.actual;
    held_.commit(s.actual);
    books_->note_answer(*this, s);
    return true;
}

bool metered_call::abort(policies::decision why) {
    if (!books_ || settled_) return false;
    settled_ = true;
    decision_ = why;
    held_.release();
    return true;
}

void metered_call::finish(unsigned status) {
    if (!books_ || finished_) return;
    abort(policies::decision::client_aborted);  // nothing when settled already
    finished_ = true;
    if (!keep_rows_) return;
    call_row row = std::move(row_);
    const ledger_clock& clock = books_->clock();
    row.finished_at = clock.millis();
    row.status = status;
    row.decision = decision_;
    row.actual = actual_;
    row.cost_usd = settled_usd(actual_, vendor_->usd_per_unit);
    row.latency_ms = (clock.steady() - started_) / 1'000'000;
    append(std::move(row));
}

void metered_call::append(call_row row) { books_->store().append(std::move(row)); }

}  // namespace creditgate::policies
