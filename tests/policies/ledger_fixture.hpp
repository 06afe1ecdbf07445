#pragma once
// The ledger's test helpers: a settable clock, amounts from text, requests and budget views.
#include "budget_fixture.hpp"
#include "policies/ledger.hpp"

#include <atomic>

namespace ledger_fixture {
using namespace creditgate::policies;

inline money m(const char* t) { return *money::parse(t); }

struct fake_clock {
    std::atomic<unix_seconds> wall{days_from_civil({2026, 11, 22}) * 86400};
    std::atomic<steady_nanos> steady{1'000'000'000};
    ledger_clock get() {
        return {[this] { return wall.load(); }, [this] { return steady.load(); }};
    }
};

inline budget_def credits(const std::string& id, const char* limit, exceed_action on = exceed_action::reject) {
    return credits_budget(id, limit, on);
}

inline budget_def slots(const std::string& id, std::int64_t max_concurrent, exceed_action on = exceed_action::reject) {
    budget_def b;
    b.id = id;
    b.kind = budget_kind::concurrency;
    b.max_concurrent = max_concurrent;
    b.on_exceed = on;
    return b;
}

inline admission_request ask(std::vector<claim> claims, const char* estimate = "1") {
    admission_request r;
    r.claims = std::move(claims);
    r.estimate = m(estimate);
    return r;
}

inline budget_view view(const ledger& l, std::size_t i) { return l.budgets()[i]; }

}  // namespace ledger_fixture
