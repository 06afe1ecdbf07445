#include "policies/ledger.hpp"
#include "ledger_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

using namespace creditgate::policies;

using namespace ledger_fixture;

TEST_CASE("reserve, commit and release", "[ledger]") {
    fake_clock clock;
    ledger l({credits("a", "10")}, {"credits"}, {}, 10, clock.get());
    auto first = l.admit(ask({{0, m("4")}}), nullptr);
    REQUIRE(first.result == admission::outcome::admitted);
    CHECK(view(l, 0).frozen == m("4"));
    first.held.commit(m("3"));
    CHECK(view(l, 0).frozen == money{});
    CHECK(view(l, 0).used == m("3"));
    {
        auto second = l.admit(ask({{0, m("5")}}), nullptr);
        CHECK(view(l, 0).frozen == m("5"));
    }  // destroyed unsettled: released
    CHECK(view(l, 0).frozen == money{});
    CHECK(view(l, 0).used == m("3"));
    CHECK(l.reservations().empty());
}

TEST_CASE("refusals are all or nothing and say why", "[ledger]") {
    fake_clock clock;
    budget_def monthly = credits("team", "100");
    monthly.period.every = period_unit::month;
    ledger l({credits("client", "50"), monthly}, {"credits", "credits"}, {}, 10, clock.get());
    auto a = l.admit(ask({{0, m("10")}, {1, m("10")}}), nullptr);
    REQUIRE(a.result == admission::outcome::admitted);
    a.held.commit(m("10"));
    auto big = l.admit(ask({{0, m("45")}, {1, m("45")}}), nullptr);
    REQUIRE(big.result == admission::outcome::refused);
    CHECK(big.refusal->kind == refusal_code::budget_exhausted);
    CHECK(big.refusal->budget == "client");
    CHECK(big.refusal->remaining == m("40"));
    CHECK(big.refusal->cost == m("45"));
    CHECK(big.refusal->message == "budget client has 40 of 50 credits left; this call needs 45");
    CHECK(view(l, 1).frozen == money{});  // nothing of it was frozen in the other budget
    auto month = l.admit(ask({{1, m("95")}}), nullptr);
    REQUIRE(month.result == admission::outcome::refused);
    CHECK(month.refusal->retry_after_s == (days_from_civil({2026, 12, 1}) * 86400 - clock.wall.load()));
}

TEST_CASE("drift: actual above the reservation may pass the limit, then everything is refused", "[ledger]") {
    fake_clock clock;
    ledger l({credits("a", "10")}, {"credits"}, {}, 10, clock.get());
    l.admit(ask({{0, m("8")}}), nullptr).held.commit(m("12"));
    CHECK(view(l, 0).used == m("12"));
    CHECK(view(l, 0).drift == m("4"));
    CHECK(view(l, 0).remaining == m("-2"));
    CHECK(l.admit(ask({{0, m("0.000001")}}), nullptr).result == admission::outcome::refused);
}

TEST_CASE("money budgets convert at the vendor's price", "[ledger]") {
    fake_clock clock;
    budget_def usd = credits("usd", "1");
    usd.kind = budget_kind::money;
    ledger l({usd}, {"usd"}, {}, 10, clock.get());
    const money price = m("0.00049");
    auto a = l.admit(ask({{0, money::units(5).times(price, money::rounding::up).value(), price}}), nullptr);
    CHECK(view(l, 0).frozen == m("0.00245"));
    a.held.commit(m("3"));
    CHECK(view(l, 0).used == m("0.00147"));
    CHECK(view(l, 0).frozen == money{});
}

TEST_CASE("concurrency slots and rate tokens", "[ledger]") {
    fake_clock clock;
    budget_def conc = slots("conc", 2);
    budget_def rate;
    rate.id = "rate";
    rate.kind = budget_kind::rate;
    rate.rate = {3, 60};  // 3/min: one token every 20 s
    ledger l({conc, rate}, {"", ""}, {}, 10, clock.get());
    auto a = l.admit(ask({{0, {}}}), nullptr);
    auto b = l.admit(ask({{0, {}}}), nullptr);
    auto c = l.admit(ask({{0, {}}}), nullptr);
    CHECK(c.result == admission::outcome::refused);
    CHECK(c.refusal->kind == refusal_code::concurrency_limit);
    a.held.release();
    CHECK(l.admit(ask({{0, {}}}), nullptr).result == admission::outcome::admitted);

    for (int i = 0; i < 3; ++i) CHECK(l.admit(ask({{1, {}}}), nullptr).result == admission::outcome::admitted);
    auto limited = l.admit(ask({{1, {}}}), nullptr);
    REQUIRE(limited.result == admission::outcome::refused);
    CHECK(limited.refusal->kind == refusal_code::rate_limited);
    CHECK(limited.refusal->retry_after_s == 20);
    clock.steady += 19'000'000'000;
    CHECK(l.admit(ask({{1, {}}}), nullptr).result == admission::outcome::refused);
    clock.steady += 1'000'000'000;
    CHECK(l.admit(ask({{1, {}}}), nullptr).result == admission::outcome::admitted);
    // A call refused by another budget takes no token.
    clock.steady += 60'000'000'000;  // full again: 3
    budget_def tiny = credits("tiny", "0");
    ledger l2({rate, tiny}, {"", "credits"}, {}, 10, clock.get());
    for (int i = 0; i < 5; ++i) CHECK(l2.admit(ask({{0, {}}, {1, m("1")}}), nullptr).result == admission::outcome::refused);
    CHECK(view(l2, 0).remaining == m("3"));
}

TEST_CASE("periods roll over exactly at the boundary", "[ledger]") {
    fake_clock clock;
    budget_def daily = credits("daily", "10");
    daily.period.every = period_unit::day;
    ledger l({daily}, {"credits"}, {}, 10, clock.get());
    clock.wall = days_from_civil({2026, 11, 22}) * 86400 + 86399;  // 23:59:59
    l.admit(ask({{0, m("10")}}), nullptr).held.commit(m("10"));
    auto late = l.admit(ask({{0, m("3")}}), nullptr);
    CHECK(late.result == admission::outcome::refused);
    auto straddling = l.admit(ask({{0, m("0")}}), nullptr);
    clock.wall += 1;  // 00:00:00: a new window
    CHECK(view(l, 0).used == money{});
    auto fresh = l.admit(ask({{0, m("3")}}), nullptr);
    CHECK(fresh.result == admission::outcome::admitted);
    straddling.held.commit(m("5"));  // admitted yesterday: yesterday's spend
    CHECK(view(l, 0).used == money{});
    CHECK(view(l, 0).frozen == m("3"));
}

TEST_CASE("shadow budgets never block and count", "[ledger]") {
    fake_clock clock;
    budget_def trial = credits("trial", "1");
    trial.mode = budget_mode::shadow;
    ledger l({trial}, {"credits"}, {}, 10, clock.get());
    auto a = l.admit(ask({{0, m("1")}}), nullptr);
    CHECK_FALSE(a.shadow_would_reject);
    auto b = l.admit(ask({{0, m("1")}}), nullptr);
    CHECK(b.result == admission::outcome::admitted);
    CHECK(b.shadow_would_reject);
    CHECK(view(l, 0).would_block == 1);
}

TEST_CASE("soft limits warn", "[ledger]") {
    fake_clock clock;
    budget_def b = credits("b", "100");
    b.soft_limit = m("0.8");
    ledger l({b}, {"credits"}, {}, 10, clock.get());
    auto below = l.admit(ask({{0, m("70")}}), nullptr);
    CHECK(below.warnings.empty());
    auto warned = l.admit(ask({{0, m("10")}}), nullptr);
    REQUIRE(warned.warnings.size() == 1);
    CHECK(warned.warnings[0] == "soft-limit budget=b used=80 limit=100");
    CHECK(view(l, 0).soft_limit_reached);
}

TEST_CASE("account balances and the exhausted mark", "[ledger]") {
    fake_clock clock;
    ledger l({}, {}, {{account_ref::named("acct"), "v"}}, 10, clock.get());
    admission_request r = ask({}, "5");
    r.account = 0;
    CHECK(l.admit(r, nullptr).result == admission::outcome::admitted);  // no reading yet: not limited
    l.record_balance(0, m("7"), balance_source::header);
    auto a = l.admit(r, nullptr);
    CHECK(a.result == admission::outcome::admitted);
    CHECK(a.balance_before == m("7"));
    auto b = l.admit(r, nullptr);
    REQUIRE(b.result == admission::outcome::refused);
    CHECK(b.refusal->kind == refusal_code::upstream_credits_exhausted);
    a.held.commit(m("5"));
    CHECK(l.accounts()[0].remaining == m("2"));
    l.mark_exhausted(0);
    CHECK(l.admit(ask({}, "0"), nullptr).result == admission::outcome::admitted);  // no account: fine
    admission_request zero = ask({}, "0");
    zero.account = 0;
    CHECK(l.admit(zero, nullptr).result == admission::outcome::refused);
    CHECK(l.reset_account("acct"));
    CHECK(l.admit(zero, nullptr).result == admission::outcome::admitted);
}

TEST_CASE("racing threads never overspend and leak nothing", "[ledger][race]") {
    // 8 threads × 2000 calls of 1..3 credits against a budget of 500, each held across a
    // yield so that others compete while it is frozen; actual <= reservation.
    budget_def small = credits("small", "500");
    budget_def conc = slots("conc", 3);
    ledger l({small, conc}, {"credits", ""}, {{account_ref::named("acct"), "v"}}, 1000);
    std::atomic<std::int64_t> admitted{0}, committed_micros{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 2000; ++i) {
                const std::int64_t cost = 1 + (i + t) % 3;
                admission_request r = ask({{0, money::units(cost)}, {1, {}}});
                r.account = 0;
                auto a = l.admit(std::move(r), nullptr);
                if (a.result != admission::outcome::admitted) continue;
                ++admitted;
                std::this_thread::yield();
                if (i % 4 == 0) {
                    a.held.release();
                } else {
                    const money actual = money::units(cost - (i % 2));
                    committed_micros += actual.micros();
                    a.held.commit(actual);
                }
            }
        });
    }
    for (auto& th : threads) th.join();
    const auto b = view(l, 0);
    CHECK(admitted.load() > 0);
    CHECK(b.used.micros() == committed_micros.load());
    CHECK(b.used <= m("500"));
    CHECK(b.used >= m("490"));  // the budget was really fought over to its end
    CHECK(b.frozen == money{});
    CHECK(view(l, 1).frozen == money{});
    CHECK(l.accounts()[0].frozen == money{});
    CHECK(l.reservations().empty());
}

TEST_CASE("racing queued calls are all admitted or timed out, in order per budget", "[ledger][race]") {
    budget_def conc = slots("conc", 2, exceed_action::queue);
    conc.queue_timeout_ms = 60'000;
    ledger l({conc}, {""}, {}, 10'000);
    std::atomic<int> in_flight{0}, peak{0}, done{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 6; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 300; ++i) {
                std::mutex mu;
                std::condition_variable cv;
                std::optional<reservation> got;
                auto a = l.admit(ask({{0, {}}}), [&](admission late) {
                    std::lock_guard lock(mu);
                    got = std::move(late.held);
                    cv.notify_one();
                });
                if (a.result == admission::outcome::admitted) got = std::move(a.held);
                else if (a.result == admission::outcome::queued) {
                    std::unique_lock lock(mu);
                    cv.wait(lock, [&] { return got.has_value(); });
                }
                const int now = ++in_flight;
                int seen = peak.load();
                while (now > seen && !peak.compare_exchange_weak(seen, now)) {}
                --in_flight;
                got->commit({});
                ++done;
            }
        });
    }
    for (auto& th : threads) th.join();
    CHECK(done.load() == 1800);
    CHECK(peak.load() <= 2);
    CHECK(view(l, 0).frozen == money{});
    CHECK(view(l, 0).queued == 0);
}

TEST_CASE("extreme amounts never wrap a budget or an account", "[ledger][hostile]") {
    // Bug 1 of issue 16: used + frozen + amount overflowed; a shadow budget's frozen went negative.
    fake_clock clock;
    budget_def shadow = credits("shadow", "100");
    shadow.mode = budget_mode::shadow;
    ledger l({credits("team", "1000000000000"), shadow}, {"credits", "credits"}, {{account_ref::named("acct"), "v"}}, 10, clock.get());
    const money top = money::max_amount();
    // The largest amount fits the largest limit once, and then nothing more does.
    auto first = l.admit(ask({{0, top}}, "1"), nullptr);
    REQUIRE(first.result == admission::outcome::admitted);
    auto second = l.admit(ask({{0, money::from_micros(1)}}), nullptr);
    CHECK(second.result == admission::outcome::refused);
    // A shadow budget admits everything; its frozen goes far past 64 bits and back exactly.
    std::vector<admission> held;
    for (int i = 0; i < 30; ++i) {
        held.push_back(l.admit(ask({{1, top}}, "1000000000000"), nullptr));
        REQUIRE(held.back().result == admission::outcome::admitted);
        CHECK(held.back().shadow_would_reject);
    }
    CHECK(view(l, 1).frozen.micros() == INT64_MAX);  // shown saturated, never negative
    CHECK(view(l, 1).remaining.micros() == INT64_MIN);
    held.clear();  // all released
    CHECK(view(l, 1).frozen == money{});
    // Settled at the extreme too: used saturates rather than wrapping, and the budget reads exhausted.
    for (int i = 0; i < 12; ++i) {
        auto a = l.admit(ask({{1, money::units(1)}}), nullptr);
        a.held.commit(top);
    }
    CHECK(view(l, 1).used.micros() == INT64_MAX);
    CHECK(view(l, 1).drift.micros() > 0);
    first.held.release();
    CHECK(view(l, 0).frozen == money{});
    CHECK(view(l, 0).remaining == m("1000000000000"));
}

TEST_CASE("an account's known balance compares exactly at the extremes", "[ledger][hostile]") {
    fake_clock clock;
    ledger l({}, {}, {{account_ref::named("acct"), "v"}}, 10, clock.get());
    l.record_balance(0, money::max_amount(), balance_source::poll);
    admission_request r = ask({}, "1000000000000");
    r.account = 0;
    auto a = l.admit(r, nullptr);
    REQUIRE(a.result == admission::outcome::admitted);
    auto b = l.admit(r, nullptr);  // nothing left
    CHECK(b.result == admission::outcome::refused);
    a.held.commit(money::max_amount());
    CHECK(l.accounts()[0].remaining == money{});
    l.record_balance(0, money::max_amount(), balance_source::poll);  // a top-up to the limit
    CHECK(l.accounts()[0].remaining == money::max_amount());
}
