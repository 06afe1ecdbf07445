// The ledger's accounts and what it learns from outside a call: balance readings (polls and
// headers), poll errors, exhausted marks, and what the persistent ledger says budgets used.
#include "policies/ledger.hpp"
#include "policies/ledger_state.hpp"

namespace creditgate::policies {

void ledger::record_balance(std::size_t account, money reading, balance_source source) {
    std::vector<std::pair<std::function<void(admission)>, admission>> ready;
    {
        std::lock_guard lock(mutex_);
        account_state& a = accounts_[account];
        if (a.reading) a.drift = money_sum(*a.reading) - a.settled_since_reading - reading;  // what the vendor spent beyond our count
        a.reading = reading;
        a.settled_since_reading = money_sum();
        a.source = source;
        a.updated_at = clock_.wall();
        a.reading_ms = clock_.millis();
        a.dirty = true;
        if (a.exhausted && reading.micros() > 0 && source == balance_source::poll) {
            a.exhausted = false;
            a.exhausted_ms = a.reading_ms;
        }
        if (!waiters_.empty()) drain_waiters(ready);
    }
    for (auto& [callback, decided] : ready) callback(std::move(decided));
}

void ledger::record_poll_error(std::size_t account, std::optional<std::string> error) {
    std::lock_guard lock(mutex_);
    account_state& a = accounts_[account];
    // The streak of failures in a row (alerts wait for three), and when it began.
    if (!error) a.poll_failures = 0;
    else if (a.poll_failures++ == 0) a.failing_since = clock_.wall();
    if (a.poll_error == error) return;
    a.poll_error = std::move(error);
    a.error_ms = clock_.millis();
    a.dirty = true;
}

void ledger::seed_used(std::size_t budget, const period_window& window, money used) {
    std::lock_guard lock(mutex_);
    budget_state& b = budgets_[budget];
    roll(b, clock_.wall());
    if (b.metered() && b.window == window) b.used = used;
}

void ledger::mark_exhausted(std::size_t account) {
    std::lock_guard lock(mutex_);
    account_state& a = accounts_[account];
    if (!a.exhausted) a.exhausted_since = clock_.wall();
    a.exhausted = true;
    a.exhausted_ms = clock_.millis();
    a.dirty = true;
}

bool ledger::reset_account(std::string_view id) {
    std::lock_guard lock(mutex_);
    for (auto& a : accounts_) {
        if (a.def.ref.books_key() != id && !(a.def.ref.registered() && a.def.ref.name() == id)) continue;
        a.exhausted = false;
        a.exhausted_ms = clock_.millis();
        a.dirty = true;
        return true;
    }
    return false;
}

std::optional<std::size_t> ledger::account_index(const account_ref& ref) const {
    for (std::size_t i = 0; i < accounts_.size(); ++i)
        if (accounts_[i].def.ref == ref) return i;  // no key built per call
    return std::nullopt;
}

std::optional<std::size_t> ledger::account_index(std::string_view id) const {
    for (std::size_t i = 0; i < accounts_.size(); ++i)
        if (accounts_[i].def.ref.books_key() == id) return i;
    return std::nullopt;
}

}  // namespace creditgate::policies
