// Credit leases (SPEC §10), the books' side: how big a lease to ask for, and several books
// sharing budgets through the central rows (in memory here; tests/e2e/test_fleet.py runs the
// same against PostgreSQL) without admitting more than one set of books alone would.
#include "policies/ledger.hpp"
#include "budget_fixture.hpp"
#include "central_rows.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

using namespace creditgate::policies;
using creditgate::test::central_rows;

namespace {

money m(const char* t) { return *money::parse(t); }
constexpr lease_amount micro = 1'000'000;

struct fake_clock {
    std::atomic<unix_seconds> wall{days_from_civil({2026, 11, 22}) * 86400};
    std::atomic<steady_nanos> steady{1'000'000'000};
    ledger_clock get() {
        return {[this] { return wall.load(); }, [this] { return steady.load(); }};
    }
};

admission_request ask(std::size_t budget, const char* amount) {
    admission_request r;
    r.claims = {{budget, m(amount)}};
    r.estimate = m(amount);
    return r;
}

// One set of books in a fleet: exchanges with `central` on demand (like postgres_store's
// thread, but inline).
struct member {
    member(central_rows& c, std::uint32_t id, std::vector<budget_def> defs, ledger_clock clock)
        : central(c), holder(id) {
        fleet_options f;
        f.target_s = 10;
        f.ttl_s = 30;
        f.lease_wait_ms = 1000;
        std::vector<std::string> units(defs.size(), "credits");
        books = std::make_shared<ledger>(std::move(defs), std::move(units), std::vector<account_def>{}, 1000, clock, f);
    }
    void exchange(bool urgent = false) {
        lease_work work = books->take_lease_work(holder, urgent);
        books->apply_lease_answer(work, central.exchange(work), 0);
    }
    void stop() {
        lease_work last = books->final_lease_work(holder);
        central.exchange(last);
    }
    // Admits `amount`, running exchanges while the call waits for a lease.
    admission admit(std::size_t budget, const char* amount) {
        auto promise = std::make_shared<std::promise<admission>>();
        auto future = promise->get_future();
        admission a = books->admit(ask(budget, amount), [promise](admission decided) { promise->set_value(std::move(decided)); });
        if (a.result != admission::outcome::queued) return a;
        // As postgres_store does: ask, and while the call still waits (others may return spare
        // lease at their next exchange), ask again after a short pause.
        for (int i = 0; i < 2000 && future.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready; ++i) {
            exchange(true);
            if (i > 0) std::this_thread::sleep_for(std::chrono::microseconds(100));
        }
        if (future.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready) return future.get();
        auto refused = books->cancel_wait(a.ticket);
        if (!refused) return future.get();
        admission out;
        out.refusal = std::move(refused);
        return out;
    }
    central_rows& central;
    std::uint32_t holder;
    std::shared_ptr<ledger> books;
};

}  // namespace

TEST_CASE("lease size follows demand and shrinks near the limit", "[lease]") {
    struct row {
        const char* what;
        lease_inputs in;
        lease_plan want;
    };
    // Amounts in plain units for reading; limit 1000 unless said.
    const std::vector<row> rows = {
        {"calls wait: ask what they lack, up to what is worth keeping", {0, 0, 5, 0, 100, 1000, 0, 1, false}, {5, 105, 0}},
        {"several wait: the least asked is what lets the smallest in", {0, 0, 9, 2, 100, 1000, 0, 1, false}, {2, 109, 0}},
        {"calls wait beside a stranded fragment: it goes back with the ask", {3, 2, 9, 2, 0, 1000, 0, 1, false}, {3, 10, 1}},
        {"the fair share caps what is worth keeping", {0, 0, 5, 0, 900, 1000, 0, 1, false}, {5, 505, 0}},
        {"two instances: a quarter of what is left", {0, 0, 5, 0, 900, 1000, 0, 2, false}, {5, 255, 0}},
        {"near the limit each call asks for itself", {0, 0, 3, 0, 900, 1000, 996, 2, false}, {3, 4, 0}},
        {"low with nobody waiting: top up ahead of demand", {20, 15, 0, 0, 100, 1000, 0, 1, false}, {95, 95, 0}},
        {"enough: nothing to do", {100, 40, 0, 0, 100, 1000, 0, 1, false}, {0, 0, 0}},
        {"far more than the demand: the rest goes back", {400, 40, 0, 0, 100, 1000, 0, 1, false}, {0, 0, 260}},
        {"idle: everything unused goes back", {400, 0, 0, 0, 100, 1000, 0, 1, true}, {0, 0, 400}},
        {"idle with calls in flight: they keep their part", {400, 30, 0, 0, 0, 1000, 0, 1, true}, {0, 0, 370}},
        {"spent past the lease (drift): nothing to give back", {-5, 0, 0, 0, 0, 1000, 0, 1, true}, {0, 0, 0}},
        {"the limit is reached: the fair share is 0", {0, 0, 0, 0, 100, 1000, 1000, 1, false}, {0, 0, 0}},
    };
    for (const row& r : rows) {
        INFO(r.what);
        const lease_plan got = plan_lease(r.in);
        CHECK(static_cast<long long>(got.ask_min) == static_cast<long long>(r.want.ask_min));
        CHECK(static_cast<long long>(got.ask_want) == static_cast<long long>(r.want.ask_want));
        CHECK(static_cast<long long>(got.give_back) == static_cast<long long>(r.want.give_back));
    }
}

TEST_CASE("the demand meter rises at once and decays over target_s", "[lease]") {
    demand_meter meter;
    meter.add(50);
    meter.update(1'000'000'000, 10);  // 50 per second
    CHECK(static_cast<long long>(meter.demand(10)) == 500);
    meter.update(1'000'000'000, 10);  // nothing for a second: decays, not gone
    const auto after_quiet = static_cast<long long>(meter.demand(10));
    CHECK(after_quiet > 0);
    CHECK(after_quiet < 500);
    for (int i = 0; i < 100; ++i) meter.update(1'000'000'000, 10);
    CHECK(static_cast<long long>(meter.demand(10)) <= 1);
}

TEST_CASE("amounts beyond 64 bits print and parse exactly", "[lease]") {
    const lease_amount big = static_cast<lease_amount>(INT64_MAX) * 1000 + 7;
    CHECK(to_decimal(big) == "9223372036854775807007");
    CHECK(parse_lease_amount("9223372036854775807007") == big);
    CHECK(to_decimal(-big) == "-9223372036854775807007");
    CHECK(parse_lease_amount("-12") == lease_amount{-12});
    CHECK_FALSE(parse_lease_amount("1.5"));
    CHECK_FALSE(parse_lease_amount(""));
}

TEST_CASE("a fleet member admits against its lease and reports spend", "[lease]") {
    fake_clock clock;
    central_rows central(1);
    member a(central, 1, {credits_budget("team", "100")}, clock.get());
    // No lease yet: the call waits for one exchange, then it is in.
    admission first = a.admit(0, "10");
    REQUIRE(first.result == admission::outcome::admitted);
    first.held.commit(m("4"));
    const std::string key = fleet_budget_key(a.books->definitions()[0]);
    const unix_seconds start = a.books->budgets()[0].window.start;
    auto row = central.get(key, start);
    CHECK(row.leased >= 10 * micro);
    CHECK(row.used == 0);  // spend reaches the central row at the next exchange
    a.exchange();
    row = central.get(key, start);
    CHECK(row.used == 4 * micro);
    CHECK(a.books->budgets()[0].used == m("4"));
    a.stop();
    row = central.get(key, start);
    CHECK(row.leased == 0);
    CHECK(row.used == 4 * micro);
}

TEST_CASE("a fleet member refuses what the central row cannot cover", "[lease]") {
    fake_clock clock;
    central_rows central(2);
    member a(central, 1, {credits_budget("team", "10")}, clock.get());
    member b(central, 2, {credits_budget("team", "10")}, clock.get());
    admission x = a.admit(0, "6");
    REQUIRE(x.result == admission::outcome::admitted);
    a.exchange();                   // a's regular exchange reports its reservation
    admission y = b.admit(0, "6");  // 6 + 6 > 10: b's ask is denied
    REQUIRE(y.result == admission::outcome::refused);
    CHECK(y.refusal->kind == refusal_code::budget_exhausted);
    admission z = b.admit(0, "4");
    CHECK(z.result == admission::outcome::admitted);
    x.held.commit(m("6"));
    z.held.commit(m("4"));
    a.stop();
    b.stop();
    const auto row = central.get(fleet_budget_key(a.books->definitions()[0]), a.books->budgets()[0].window.start);
    CHECK(row.used == 10 * micro);
    CHECK(row.leased == 0);
}

TEST_CASE("without an answer from the central rows, calls beyond the lease hear 503", "[lease]") {
    fake_clock clock;
    central_rows central(1);
    member a(central, 1, {credits_budget("team", "100")}, clock.get());
    a.books->lease_exchange_failed();
    admission x = a.admit(0, "1");
    REQUIRE(x.result == admission::outcome::refused);
    CHECK(x.refusal->kind == refusal_code::storage_unavailable);
    a.exchange();  // the database is back
    CHECK(a.admit(0, "1").result == admission::outcome::admitted);
    // A lease held is good for 2/3 of ttl_s after the exchange that granted it, then it is
    // presumed reclaimed by the fleet.
    clock.steady += 21'000'000'000;
    admission late = a.admit(0, "1");
    CHECK(late.result == admission::outcome::refused);
    CHECK(late.refusal->kind == refusal_code::storage_unavailable);
}

TEST_CASE("concurrency budgets lease slots", "[lease]") {
    fake_clock clock;
    central_rows central(2);
    budget_def slots;
    slots.id = "slots";
    slots.kind = budget_kind::concurrency;
    slots.max_concurrent = 3;
    member a(central, 1, {slots}, clock.get());
    member b(central, 2, {slots}, clock.get());
    std::vector<admission> held;
    int admitted = 0;
    for (int i = 0; i < 4; ++i) {
        for (member* who : {&a, &b}) {
            admission x = who->admit(0, "1");
            if (x.result == admission::outcome::admitted) {
                ++admitted;
                held.push_back(std::move(x));
            }
        }
    }
    CHECK(admitted == 3);
    held.clear();  // released: the slots go back at the next exchanges
    a.exchange();
    b.exchange();
    a.stop();
    b.stop();
    CHECK(central.get(fleet_budget_key(slots), a.books->budgets()[0].window.start).leased == 0);
}

TEST_CASE("a new period starts a fresh central row; the old one hears its last spend", "[lease]") {
    fake_clock clock;
    central_rows central(1);
    budget_def daily = credits_budget("daily", "5");
    daily.period.every = period_unit::day;
    member a(central, 1, {daily}, clock.get());
    a.admit(0, "5").held.commit(m("5"));
    CHECK(a.admit(0, "1").result == admission::outcome::refused);
    const unix_seconds first_day = a.books->budgets()[0].window.start;
    clock.wall += 86400;
    admission next = a.admit(0, "2");
    REQUIRE(next.result == admission::outcome::admitted);
    next.held.commit(m("2"));
    a.exchange();
    const std::string key = fleet_budget_key(daily);
    CHECK(central.get(key, first_day).used == 5 * micro);
    CHECK(central.get(key, first_day).leased == 0);
    CHECK(central.get(key, first_day + 86400).used == 2 * micro);
}

TEST_CASE("three members racing against one small budget admit exactly the limit", "[lease][race]") {
    fake_clock clock;
    central_rows central(3);
    const budget_def team = credits_budget("team", "50");
    std::vector<std::unique_ptr<member>> fleet;
    for (std::uint32_t i = 1; i <= 3; ++i) fleet.push_back(std::make_unique<member>(central, i, std::vector{team}, clock.get()));
    std::atomic<int> admitted{0}, storage_refusals{0};
    std::atomic<bool> running{true};
    std::vector<std::thread> threads;
    for (auto& who : fleet) {
        member* w = who.get();
        threads.emplace_back([w, &running] {  // the member's regular exchanges
            while (running) {
                w->exchange();
                std::this_thread::sleep_for(std::chrono::microseconds(200));
            }
        });
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([w, &admitted, &storage_refusals] {
                for (int i = 0; i < 40; ++i) {
                    admission x = w->admit(0, "1");
                    if (x.result == admission::outcome::admitted) {
                        ++admitted;
                        x.held.commit(m("1"));
                    } else if (x.refusal && x.refusal->kind == refusal_code::storage_unavailable) {
                        ++storage_refusals;
                    }
                }
            });
    }
    for (std::size_t i = 0; i < threads.size(); ++i)
        if (i % 5 != 0) threads[i].join();
    running = false;
    for (std::size_t i = 0; i < threads.size(); i += 5) threads[i].join();
    for (auto& who : fleet) who->stop();
    const auto row = central.get(fleet_budget_key(team), fleet[0]->books->budgets()[0].window.start);
    CHECK(storage_refusals == 0);
    CHECK(admitted == 50);  // 480 tries: every credit is used, none twice
    CHECK(row.used == 50 * micro);
    CHECK(row.leased == 0);
    for (auto& who : fleet) CHECK(who->books->reservations().empty());
}
