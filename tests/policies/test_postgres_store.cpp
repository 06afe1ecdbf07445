// postgres_store against a real PostgreSQL 15 (the ctest fixture pg_server starts one in the
// build folder; CREDITGATE_PG_URL_FILE names the file with its conninfo): the books of several
// runs sharing budgets through creditgate_report under concurrency, and a period roll-over at
// midnight with a fake clock — which the end-to-end tests cannot fake.
#include "policies/ledger.hpp"
#include "policies/store/pg_connection.hpp"
#include "policies/store/postgres_store.hpp"
#include "budget_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <future>
#include <thread>

using namespace creditgate::policies;

namespace {

std::string pg_url() {
    const char* file = std::getenv("CREDITGATE_PG_URL_FILE");
    REQUIRE(file != nullptr);
    std::ifstream in(file);
    std::string url;
    std::getline(in, url);
    REQUIRE(!url.empty());
    return url;
}

std::unique_ptr<postgres_store> open_store(const std::string& instance) {
    postgres_options o;
    o.url = pg_url();
    o.instance = instance;
    o.flush_ms = 20;
    o.target_s = 2;
    o.ttl_s = 30;
    std::string error;
    auto store = postgres_store::open(o, error);
    INFO(error);
    REQUIRE(store);
    return store;
}

// Budget ids no earlier run of this test used (the database may outlive one run).
std::string fresh_id(const std::string& prefix) {
    return prefix + "-" + std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
}

struct fake_clock {
    std::atomic<unix_seconds> wall{days_from_civil({2026, 12, 3}) * 86400 + 86399};  // 23:59:59 UTC
    std::atomic<steady_nanos> steady{1'000'000'000};
    ledger_clock get() {
        return {[this] { return wall.load(); }, [this] { return steady.load(); }};
    }
};

// Admits and waits for the store's exchanges when the call waits for a lease.
admission admit(ledger& books, const budget_def& def, const char* amount) {
    admission_request r;
    r.claims = {{0, *money::parse(amount)}};
    r.estimate = *money::parse(amount);
    auto promise = std::make_shared<std::promise<admission>>();
    auto future = promise->get_future();
    admission a = books.admit(std::move(r), [promise](admission decided) { promise->set_value(std::move(decided)); });
    if (a.result != admission::outcome::queued) return a;
    if (future.wait_for(std::chrono::seconds(10)) == std::future_status::ready) return future.get();
    admission out;
    out.refusal = books.cancel_wait(a.ticket);
    if (!out.refusal) return future.get();
    return out;
}

std::pair<std::string, std::string> central_row(pg_connection& db, const std::string& budget_id, unix_seconds start) {
    auto rows = db.query("SELECT used, leased FROM creditgate_budget_rows WHERE budget_id = $1 AND period_start = $2",
                         {budget_id, std::to_string(start)});
    REQUIRE(rows);
    if (rows->size() == 0) return {"none", "none"};
    return {std::string(rows->text(0, 0)), std::string(rows->text(0, 1))};
}

}  // namespace

TEST_CASE("runs sharing a budget through PostgreSQL admit exactly its limit", "[postgres]") {
    const budget_def team = credits_budget(fresh_id("race"), "100");
    std::vector<std::unique_ptr<postgres_store>> stores;
    std::vector<std::shared_ptr<ledger>> books;
    std::vector<std::uint32_t> holders;
    for (int i = 0; i < 3; ++i) {
        stores.push_back(open_store("race-" + std::to_string(i)));
        books.push_back(std::make_shared<ledger>(std::vector{team}, std::vector<std::string>{"credits"}, std::vector<account_def>{}, 1000,
                                                 ledger_clock::system(), stores.back()->fleet()));
        holders.push_back(stores.back()->attach(books.back()));
    }
    std::atomic<int> admitted{0}, other{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 3; ++i)
        for (int t = 0; t < 8; ++t)
            threads.emplace_back([&, i] {
                for (int n = 0; n < 30; ++n) {
                    admission a = admit(*books[i], team, "1");
                    if (a.result == admission::outcome::admitted) {
                        ++admitted;
                        a.held.commit(*money::parse("1"));
                    } else if (!a.refusal || a.refusal->kind != refusal_code::budget_exhausted) {
                        ++other;
                    }
                }
            });
    for (auto& t : threads) t.join();
    CHECK(admitted == 100);  // 720 tries
    CHECK(other == 0);
    for (int i = 0; i < 3; ++i) {
        stores[i]->detach(holders[i], books[i]->final_lease_work(holders[i]));
        stores[i].reset();  // a graceful stop: everything back, every row written
    }
    auto db = [] {
        std::string error;
        return pg_connection::connect(pg_url(), 5, error);
    }();
    REQUIRE(db);
    CHECK(central_row(*db, team.id, 0) == std::pair<std::string, std::string>{"100000000", "0"});
}

TEST_CASE("a period roll-over at midnight starts a fresh central row", "[postgres]") {
    fake_clock clock;
    budget_def daily = credits_budget(fresh_id("daily"), "5");
    daily.period.every = period_unit::day;
    auto store = open_store("midnight");
    auto books = std::make_shared<ledger>(std::vector{daily}, std::vector<std::string>{"credits"}, std::vector<account_def>{}, 100,
                                          clock.get(), store->fleet());
    const auto holder = store->attach(books);
    const unix_seconds today = days_from_civil({2026, 12, 3}) * 86400;
    admission first = admit(*books, daily, "4");
    REQUIRE(first.result == admission::outcome::admitted);
    first.held.commit(*money::parse("4"));
    admission over = admit(*books, daily, "2");
    CHECK(over.result == admission::outcome::refused);
    clock.wall += 1;  // 00:00:00: a new day, a new window
    admission next = admit(*books, daily, "2");
    REQUIRE(next.result == admission::outcome::admitted);
    next.held.commit(*money::parse("2"));
    store->detach(holder, books->final_lease_work(holder));
    store.reset();
    std::string error;
    auto db = pg_connection::connect(pg_url(), 5, error);
    REQUIRE(db);
    CHECK(central_row(*db, daily.id, today) == std::pair<std::string, std::string>{"4000000", "0"});
    CHECK(central_row(*db, daily.id, today + 86400) == std::pair<std::string, std::string>{"2000000", "0"});
}

TEST_CASE("retention on the shared ledger: pruned days still count and report by day", "[postgres]") {
    auto store = open_store(fresh_id("retention"));
    const std::string vendor = fresh_id("v");
    auto row = [&](civil_date day, const char* actual, bool finished) {
        call_row r;
        r.id = store->next_id();
        r.admitted_at = days_from_civil(day) * 86'400'000 + 3'600'000;
        if (finished) r.finished_at = r.admitted_at + 30;
        r.request_id = "r" + std::to_string(r.id);
        r.client = "eu-1";
        r.team = "growth";
        r.vendor = vendor;
        r.account = vendor + "-main";
        r.method = "GET";
        r.host = "api.example.com";
        r.path = "/x";
        r.status = finished ? 200 : 0;
        r.decision = decision::allowed;
        r.estimate = *money::parse("5");
        r.actual = *money::parse(actual);
        r.cost_usd = *money::parse(actual);
        r.latency_ms = 30;
        return r;
    };
    // 2025 is long before every other test's rows (they live around 2026-12-03).
    store->append(row({2025, 6, 10}, "3", true));
    store->append(row({2025, 6, 11}, "4", true));
    store->append(row({2025, 6, 10}, "0", false));  // pending: counts at its estimate, never pruned
    store->append(row({2026, 2, 1}, "8", true));
    REQUIRE(store->flush());
    const budget_usage_query lifetime{vendor, {}, {}, false};
    const budget_usage_query dollars{vendor, {std::string("growth"), {}, {}, {}}, {}, true};
    REQUIRE(store->used(lifetime));
    CHECK(*store->used(lifetime) == *money::parse("20"));
    const auto usd_before = *store->used(dollars);
    const usage_query by_day{{2025, 6, 1}, {2026, 3, 1}, {usage_group::day}, {}, {}, vendor};
    const auto report_before = *store->usage(by_day);
    REQUIRE(report_before.size() == 3);

    const auto deleted = store->prune({2026, 1, 1});
    REQUIRE(deleted);
    CHECK(*deleted >= 2);
    std::string error;
    auto db = pg_connection::connect(pg_url(), 5, error);
    REQUIRE(db);
    auto left = db->query("SELECT count(*) FROM creditgate_calls WHERE vendor = $1", {vendor});
    REQUIRE(left);
    CHECK(left->int64(0, 0) == 2);  // the pending row and February's
    CHECK(*store->used(lifetime) == *money::parse("20"));
    CHECK(*store->used(dollars) == usd_before);
    const auto report_after = *store->usage(by_day);
    REQUIRE(report_after.size() == report_before.size());
    for (std::size_t i = 0; i < report_after.size(); ++i) {
        CHECK(report_after[i].keys == report_before[i].keys);
        CHECK(report_after[i].requests == report_before[i].requests);
        CHECK(report_after[i].credits == report_before[i].credits);
    }
}
