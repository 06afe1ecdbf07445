// forecast_exhausted_at (SPEC §12): the recent spend rate, the period-so-far fallback, and the
// ledger's budgets view with a fake clock.
#include "policies/forecast.hpp"
#include "policies/ledger.hpp"

#include <catch2/catch.hpp>

#include <atomic>

using namespace creditgate::policies;

namespace {

money m(const char* t) { return *money::parse(t); }
money_sum s(const char* t) { return money_sum(m(t)); }
constexpr unix_seconds dec1 = 1'796'083'200;  // 2026-12-01T00:00:00Z
const period_window december{dec1, dec1 + 31 * 86'400};
const period_window lifetime{};

}  // namespace

TEST_CASE("spend history: hourly buckets over the last 24 hours", "[forecast]") {
    spend_history h(dec1);
    h.add(dec1 + 10, m("5"));
    h.add(dec1 + 3600 * 2 + 5, m("7"));
    CHECK(h.since(dec1, dec1 + 3 * 3600) == s("12"));
    CHECK(h.since(dec1 + 3600, dec1 + 3 * 3600) == s("7"));
    // 25 hours later the first hour has left the window; 30 hours later both have.
    CHECK(h.since(dec1, dec1 + 25 * 3600) == s("7"));
    CHECK(h.since(dec1, dec1 + 30 * 3600) == s("0"));
    h.add(dec1 + 30 * 3600, m("1"));  // buckets skipped over start empty
    CHECK(h.since(dec1, dec1 + 30 * 3600) == s("1"));
}

TEST_CASE("forecast: table of rates, limits and windows", "[forecast]") {
    const unix_seconds now = dec1 + 10 * 86'400;  // the 11th, 00:00
    struct row {
        const char* name;
        const char* limit;
        const char* used;
        const char* frozen;
        spend_rate rate;
        period_window window;
        std::optional<unix_seconds> expected;
    };
    const row table[] = {
        {"100 a day, 500 left: 5 days", "1000", "500", "0", {s("100"), 86'400}, december, now + 5 * 86'400},
        {"frozen counts as gone", "1000", "500", "100", {s("100"), 86'400}, december, now + 4 * 86'400},
        {"rounded up to the second", "1000", "999", "0", {s("3"), 86'400}, december, now + 28'800},
        {"after the period ends: null", "1000", "0", "0", {s("10"), 86'400}, december, std::nullopt},
        {"lifetime: no end", "1000", "0", "0", {s("10"), 86'400}, lifetime, now + 100 * 86'400},
        {"nothing spent: null", "1000", "10", "0", {s("0"), 86'400}, december, std::nullopt},
        {"no rate known: null", "1000", "10", "0", {}, december, std::nullopt},
        {"at the limit: now", "1000", "1000", "0", {s("0"), 0}, december, now},
        {"past it: now", "1000", "990", "20", {s("5"), 3600}, december, now},
    };
    for (const auto& r : table) {
        INFO(r.name);
        CHECK(forecast_exhausted_at(s(r.limit), s(r.used), s(r.frozen), r.rate, r.window, now) == r.expected);
    }
}

TEST_CASE("forecast: which rate — the last 24 hours, the period so far, or what a young history saw", "[forecast]") {
    const unix_seconds now = dec1 + 10 * 86'400 + 7200;
    spend_history old(dec1);  // running since the period began
    old.add(now - 3600, m("48"));
    auto r = recent_rate(old, s("500"), december, now, false);
    CHECK(r.span_s == 86'400);
    CHECK(r.spent == s("48"));
    spend_history young(now - 600);  // a restart ten minutes ago: the period so far instead
    r = recent_rate(young, s("500"), december, now, false);
    CHECK(r.span_s == now - dec1);
    CHECK(r.spent == s("500"));
    // A period younger than a day: its own length.
    const period_window today{dec1 + 10 * 86'400, dec1 + 11 * 86'400};
    r = recent_rate(old, s("48"), today, now, false);
    CHECK(r.span_s == 7200);
    // A fleet's budget: the fleet's period so far, not this instance's history.
    r = recent_rate(old, s("900"), december, now, true);
    CHECK(r.spent == s("900"));
    // A lifetime budget after a restart: what the history saw since.
    spend_history since_restart(now - 3 * 3600);
    since_restart.add(now - 60, m("6"));
    r = recent_rate(since_restart, s("10000"), lifetime, now, false);
    CHECK(r.span_s == 3 * 3600);
    CHECK(r.spent == s("6"));
}

TEST_CASE("the budgets view carries forecast_exhausted_at from settled spending", "[forecast]") {
    std::atomic<unix_seconds> wall{dec1 + 86'400};  // Dec 2, 00:00
    std::atomic<steady_nanos> steady{1};
    ledger_clock clock{[&] { return wall.load(); }, [&] { return steady.load(); }};
    budget_def b;
    b.id = "monthly";
    b.kind = budget_kind::credits;
    b.vendor = "v";
    b.limit = m("1000");
    b.period.every = period_unit::month;
    ledger books({b}, {"credits"}, {}, 100, clock);
    CHECK_FALSE(books.budgets()[0].forecast_exhausted_at);  // nothing spent
    // 100 credits settle over the first hour; 900 left at 100 per ~day-so-far...
    for (int i = 0; i < 10; ++i) {
        admission_request req;
        req.claims = {{0, m("10")}};
        req.estimate = m("10");
        auto a = books.admit(std::move(req), nullptr);
        REQUIRE(a.result == admission::outcome::admitted);
        a.held.commit(m("10"));
    }
    wall = dec1 + 86'400 + 3600;
    // The history began at the ledger's start (Dec 2), after the 24 h window's start: the period
    // so far is the rate: 100 over 25 hours, so the 900 left last 225 hours, until Dec 11, 10:00.
    const auto at = books.budgets()[0].forecast_exhausted_at;
    REQUIRE(at);
    CHECK(*at == dec1 + 86'400 + 3600 + 225 * 3600);
    // Spend much slower than the month allows: no exhaustion before the period ends.
    wall = dec1 + 20 * 86'400;
    CHECK_FALSE(books.budgets()[0].forecast_exhausted_at);
}
