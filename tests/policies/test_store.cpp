#include "policies/metering.hpp"
#include "policies/json_amount.hpp"
#include "policies/store/sqlite_store.hpp"
#include "policies/store/usage_report.hpp"
#include "policies/store/writer_priority.hpp"
#include "store_fixture.hpp"

#include <catch2/catch.hpp>
#include <sched.h>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

using namespace creditgate::policies;
using namespace store_fixture;

TEST_CASE("the schema is created once, versioned, and ids go on across opens", "[store]") {
    temp_dir dir;
    std::int64_t written = 0;
    {
        auto s = open_store(dir.db());
        auto row = finished(*s, nov22, "eu-1", "scraperapi", "1");
        written = row.id;
        s->append(row);
    }
    auto s = open_store(dir.db());
    CHECK(s->next_id() > written);  // never reuses an id written before
    CHECK(count_rows(dir.db()) == 1);

    sqlite3* db = nullptr;
    sqlite3_open(dir.db().c_str(), &db);
    sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    s.reset();
    sqlite_options o;
    o.path = dir.db();
    std::string error;
    CHECK_FALSE(sqlite_store::open(o, error));
    CHECK_THAT(error, Catch::Contains("newer creditgate"));
}

TEST_CASE("a report-only open needs an existing ledger", "[store]") {
    temp_dir dir;
    sqlite_options o;
    o.path = dir.db();
    o.read_only = true;
    std::string error;
    CHECK_FALSE(sqlite_store::open(o, error));
    CHECK_THAT(error, Catch::Contains(dir.db()));
}

TEST_CASE("pending then finished: one row, and used counts each at the right amount", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db());
    call_row pending = finished(*s, nov22 + 1000, "eu-1", "crustdata", "0");
    pending.finished_at.reset();
    pending.decision = decision::pending;
    pending.cost_usd = reserved_usd(pending.estimate, m("0.01"));
    s->append(pending);
    REQUIRE(s->flush());
    CHECK(count_rows(dir.db(), "finished_at IS NULL") == 1);

    const period_window nov{days_from_civil({2026, 11, 1}) * 86400, days_from_civil({2026, 12, 1}) * 86400};
    budget_usage_query q{"crustdata", {}, nov, false};
    CHECK(s->used(q) == m("5"));  // pending: what it reserved
    q.in_usd = true;
    CHECK(s->used(q) == m("0.05"));

    call_row done = pending;
    done.finished_at = pending.admitted_at + 300;
    done.decision = decision::allowed;
    done.status = 200;
    done.actual = m("0.12");
    done.cost_usd = settled_usd(done.actual, m("0.01"));
    s->append(done);
    REQUIRE(s->flush());
    CHECK(count_rows(dir.db()) == 1);
    CHECK(s->used(q) == m("0.0012"));
    q.in_usd = false;
    CHECK(s->used(q) == m("0.12"));
}

TEST_CASE("batches of many rows: every call once, finished rows update pending ones in the same statement", "[store]") {
    // The writer sends rows 32 to a statement, the rest one by one; sizes around that edge, with
    // finished rows of calls pending from an earlier batch mixed among new ones.
    for (const int calls : {1, 31, 32, 33, 70}) {
        INFO(calls << " calls");
        temp_dir dir;
        auto s = open_store(dir.db(), 60'000);  // flushes only when asked
        std::vector<call_row> done;
        for (int i = 0; i < calls; ++i) {
            call_row row = finished(*s, nov22 + i, "eu-1", "crustdata", "2");
            done.push_back(row);
            row.finished_at.reset();
            row.decision = decision::pending;
            row.actual = money{};
            if (i % 2 == 0) s->append(row);  // every other call was admitted in an earlier batch
        }
        REQUIRE(s->flush());
        CHECK(count_rows(dir.db()) == (calls + 1) / 2);
        for (int i = 0; i < calls; ++i) {
            if (i % 2 == 1) {  // ... the others are admitted and finished within this one
                call_row pending = done[static_cast<std::size_t>(i)];
                pending.finished_at.reset();
                pending.decision = decision::pending;
                s->append(pending);
            }
            s->append(done[static_cast<std::size_t>(i)]);
        }
        REQUIRE(s->flush());
        CHECK(count_rows(dir.db()) == calls);
        CHECK(count_rows(dir.db(), "finished_at IS NULL") == 0);
        CHECK(count_rows(dir.db(), "actual = 2000000 AND decision = 'allowed' AND status = 200 AND latency_ms = 40") == calls);
        const period_window nov{days_from_civil({2026, 11, 1}) * 86400, days_from_civil({2026, 12, 1}) * 86400};
        CHECK(s->used({"crustdata", {}, nov, false}) == money::units(2 * calls));
        usage_query daily{{2026, 11, 22}, {2026, 11, 22}, {usage_group::client}, {}, {}, {}};
        const auto report = s->usage(daily);
        REQUIRE(report);
        REQUIRE(report->size() == 1);
        CHECK((*report)[0].requests == calls);
        CHECK((*report)[0].credits == money::units(2 * calls));
    }
}

TEST_CASE("used follows the budget's vendor, scope, path prefix and half-open window", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db());
    const unix_millis dec1 = days_from_civil({2026, 12, 1}) * day_ms;
    s->append(finished(*s, nov22, "eu-1", "crustdata", "1"));
    s->append(finished(*s, nov22, "us-1", "crustdata", "2"));
    s->append(finished(*s, nov22, "eu-1", "scraperapi", "4"));
    s->append(finished(*s, dec1 - 1, "eu-1", "crustdata", "8"));  // last millisecond of November
    s->append(finished(*s, dec1, "eu-1", "crustdata", "16"));     // first of December
    auto other_path = finished(*s, nov22, "eu-1", "crustdata", "32");
    other_path.path = "/company/search";
    s->append(other_path);
    REQUIRE(s->flush());

    const period_window nov{days_from_civil({2026, 11, 1}) * 86400, days_from_civil({2026, 12, 1}) * 86400};
    struct row {
        const char* vendor;
        budget_scope scope;
        const char* expected;
    };
    const std::vector<row> table{
        {"crustdata", {}, "43"},
        {"*", {}, "47"},
        {"crustdata", {std::string("growth"), {}, {}, {}}, "41"},
        {"crustdata", {{}, std::string("us-1"), {}, {}}, "2"},
        {"crustdata", {{}, {}, std::string("crustdata-main"), {}}, "43"},
        {"crustdata", {{}, {}, {}, std::string("/person")}, "11"},
        {"crustdata", {{}, {}, {}, std::string("/company/search")}, "32"},
        {"crustdata", {{}, {}, {}, std::string("/persons")}, "0"},
    };
    for (const auto& t : table) {
        INFO(t.vendor << " " << t.expected);
        CHECK(s->used({t.vendor, t.scope, nov, false}) == m(t.expected));
    }
    const period_window lifetime{};
    CHECK(s->used({"crustdata", {}, lifetime, false}) == m("59"));
}

TEST_CASE("usage reports count, sum and group exactly", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db());
    s->append(finished(*s, nov22, "eu-1", "crustdata", "0.09"));
    s->append(finished(*s, nov22 + 5, "eu-1", "crustdata", "0.03", decision::allowed, 404));
    s->append(finished(*s, nov22 + 9, "eu-1", "crustdata", "0", decision::rejected, 402));
    s->append(finished(*s, nov22 + day_ms, "us-1", "scraperapi", "25", decision::queued_allowed));
    s->append(finished(*s, nov22 + day_ms, "us-1", "scraperapi", "0", decision::upstream_error, 502));
    auto in_flight = finished(*s, nov22, "eu-1", "crustdata", "0");
    in_flight.finished_at.reset();
    s->append(in_flight);  // pending: not a finished call, not reported
    REQUIRE(s->flush());

    usage_query q;
    q.from = {2026, 11, 1};
    q.to = {2026, 11, 30};
    q.group_by = {usage_group::client, usage_group::vendor};
    auto rows = s->usage(q);
    REQUIRE(rows);
    REQUIRE(rows->size() == 2);
    const usage_row& eu = (*rows)[0];
    CHECK(eu.keys == std::vector<std::string>{"eu-1", "crustdata"});
    CHECK(eu.requests == 3);
    CHECK(eu.succeeded == 1);
    CHECK(eu.failed == 1);
    CHECK(eu.rejected == 1);
    CHECK(eu.credits == m("0.12"));
    CHECK(eu.cost_usd == m("0.0012"));
    const usage_row& us = (*rows)[1];
    CHECK(us.requests == 2);
    CHECK(us.succeeded == 1);
    CHECK(us.failed == 1);
    CHECK(us.credits == m("25"));

    q.group_by = {usage_group::day};
    rows = s->usage(q);
    REQUIRE(rows->size() == 2);
    CHECK((*rows)[0].keys[0] == "2026-11-22");
    CHECK((*rows)[1].keys[0] == "2026-11-23");

    q.to = {2026, 11, 22};  // inclusive: the 22nd only
    q.group_by = {};
    rows = s->usage(q);
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].requests == 3);

    q.to = {2026, 11, 30};
    q.vendor = "scraperapi";
    q.group_by = {usage_group::team};
    rows = s->usage(q);
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].keys[0] == "research");
    CHECK((*rows)[0].requests == 2);
}

TEST_CASE("usage request parameters", "[store]") {
    const civil_date today{2026, 11, 22};
    auto ok = parse_usage_request({}, today);
    REQUIRE(ok.value);
    CHECK(ok.value->query.from == civil_date{2026, 11, 1});
    CHECK(ok.value->query.to == today);
    CHECK(ok.value->query.group_by == std::vector<usage_group>{usage_group::client, usage_group::vendor});

    ok = parse_usage_request({{"from", "2026-10-01"}, {"to", "2026-10-31"}, {"group_by", "day, team,day"}, {"format", "csv"},
                              {"vendor", "helius"}},
                             today);
    REQUIRE(ok.value);
    CHECK(ok.value->query.group_by == std::vector<usage_group>{usage_group::day, usage_group::team});
    CHECK(ok.value->format == report_format::csv);
    CHECK(ok.value->query.vendor == std::optional<std::string>("helius"));

    struct bad {
        std::vector<std::pair<std::string, std::string>> params;
        const char* says;
    };
    for (const auto& b : std::vector<bad>{{{{"from", "2026-13-01"}}, "from"},
                                          {{{"group_by", "client,planet"}}, "planet"},
                                          {{{"format", "xml"}}, "format"},
                                          {{{"from", "2026-11-10"}, {"to", "2026-11-09"}}, "after"},
                                          {{{"limit", "5"}}, "limit"}}) {
        auto r = parse_usage_request(b.params, today);
        CHECK_FALSE(r.value);
        CHECK_THAT(r.error, Catch::Contains(b.says));
    }
}

TEST_CASE("usage as CSV and as a table", "[store]") {
    usage_query q;
    q.from = q.to = {2026, 11, 22};
    q.group_by = {usage_group::client};
    usage_row r;
    r.keys = {"acme, \"inc\""};
    r.requests = 3;
    r.succeeded = 2;
    r.failed = 1;
    r.credits = m("1.5");
    r.cost_usd = m("0.000735");
    r.avg_latency_ms = 12.25;
    r.unit = "credits";
    const std::string csv = usage_csv(q, {r});
    CHECK(csv ==
          "client,requests,succeeded,failed,rejected,credits,unit,cost_usd,avg_latency_ms\r\n"
          "\"acme, \"\"inc\"\"\",3,2,1,0,1.5,credits,0.000735,12.2\r\n");
    // A row across vendors: no credits (two vendors' credits are different money), only dollars.
    usage_row across = r;
    across.unit = "mixed";
    CHECK_THAT(usage_csv(q, {across}), Catch::EndsWith(",3,2,1,0,,mixed,0.000735,12.2\r\n"));
    CHECK(usage_json(q, {across})["rows"][0]["credits"].is_null());
    CHECK(usage_json(q, {across})["rows"][0]["unit"] == "mixed");
    const std::string table = usage_table(q, {r});
    CHECK_THAT(table, Catch::StartsWith("client"));
    CHECK_THAT(table, Catch::Contains("0.000735"));
    const auto json = usage_json(q, {r});
    CHECK(dump_exact(json["rows"][0]["credits"]) == "1.5");
    CHECK(json["group_by"] == nlohmann::json::array({"client"}));
    // Amounts leave exact, past the 15-17 digits a double would print.
    r.credits = m("1000000000000.000001");
    CHECK_THAT(dump_exact(usage_json(q, {r})), Catch::Contains("\"credits\":1000000000000.000001,"));
}

TEST_CASE("a locked database makes the store unhealthy until it can write again, losing nothing", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db(), 10, 50);
    sqlite3* other = nullptr;
    REQUIRE(sqlite3_open(dir.db().c_str(), &other) == SQLITE_OK);
    REQUIRE(sqlite3_exec(other, "BEGIN EXCLUSIVE", nullptr, nullptr, nullptr) == SQLITE_OK);
    s->append(finished(*s, nov22, "eu-1", "crustdata", "1"));
    CHECK_FALSE(s->flush());
    CHECK_FALSE(s->healthy());
    sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(other);
    s->append(finished(*s, nov22, "eu-1", "crustdata", "2"));
    CHECK(s->flush());
    CHECK(s->healthy());
    CHECK(count_rows(dir.db()) == 2);
}

TEST_CASE("rows from many threads all arrive, and a store closed with rows queued writes them", "[store]") {
    temp_dir dir;
    {
        auto s = open_store(dir.db(), 1000);  // slow batches: the close has work left
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t)
            threads.emplace_back([&s] {
                for (int i = 0; i < 500; ++i) s->append(finished(*s, nov22 + i, "eu-1", "crustdata", "1"));
            });
        for (auto& t : threads) t.join();
    }
    CHECK(count_rows(dir.db()) == 2000);
}

TEST_CASE("the ledger writer runs in the background until it falls behind or someone waits", "[store]") {
    using namespace std::chrono_literals;
    using mode = writer_pacing::mode;
    const auto t0 = writer_pacing::clock::time_point{} + 1h;
    struct wake {
        std::chrono::milliseconds at, late;
        bool waits;
        mode expected;
    };
    // lag limit 100 ms, foreground held for 10 s after the last reason for it.
    const wake steps[] = {
        {0ms, 0ms, false, mode::background},         // on time
        {100ms, 100ms, false, mode::background},     // late by exactly the limit: still fine
        {250ms, 101ms, false, mode::foreground},     // starved: comes forward
        {5'000ms, 0ms, false, mode::foreground},     // held while the hold lasts
        {10'249ms, 0ms, false, mode::foreground},
        {10'250ms, 0ms, false, mode::background},    // then tries the background again
        {11'000ms, 0ms, true, mode::foreground},     // a flush waits: forward at once
        {20'999ms, 0ms, false, mode::foreground},
        {21'000ms, 0ms, false, mode::background},
    };
    writer_pacing pacing(100ms, 10s);
    CHECK(pacing.current() == mode::background);
    for (const auto& s : steps) {
        INFO("wake at " << s.at.count() << " ms, late " << s.late.count() << " ms");
        CHECK(pacing.on_wake(t0 + s.at, s.late, s.waits) == s.expected);
    }
}

#ifdef __linux__
TEST_CASE("the ledger writer thread is named for top -H and perf", "[store]") {
    const auto writer_threads = [] {
        int n = 0;
        for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
            std::ifstream comm(task.path() / "comm");
            std::string name;
            std::getline(comm, name);
            n += name == "cg-ledger";
        }
        return n;
    };
    temp_dir dir;
    const int before = writer_threads();
    {
        auto s = open_store(dir.db());
        // Once a row is written the writer is in its loop (its start-up probe thread, which
        // inherits the name, is gone).
        s->append(finished(*s, nov22, "eu-1", "crustdata", "1"));
        REQUIRE(s->flush());
        CHECK(writer_threads() == before + 1);
    }
    CHECK(writer_threads() == before);
}
#endif

TEST_CASE("the ledger writer gives the core up only once its slice is used", "[store]") {
    using namespace std::chrono_literals;
    using clock = burst_limiter::clock;
    SECTION("a slice longer than the work: never") {
        burst_limiter pace(1h);
        for (int i = 0; i < 1000; ++i) pace.pause_point();
        CHECK(pace.yields() == 0);
    }
    SECTION("an empty slice: at every pause point") {
        burst_limiter pace(0s);
        for (int i = 0; i < 1000; ++i) pace.pause_point();
        CHECK(pace.yields() == 1000);
    }
    SECTION("busy for 30 ms in 5 ms slices: about once a slice") {
        burst_limiter pace(5ms);
        const auto end = clock::now() + 30ms;
        while (clock::now() < end) pace.pause_point();
        // Each yield needs a full slice since the last one; a descheduled thread may lose some.
        CHECK(pace.yields() >= 1);
        CHECK(pace.yields() <= 6);
    }
    SECTION("after a sleep, restart() starts the slice afresh") {
        burst_limiter pace(50ms);
        std::this_thread::sleep_for(60ms);
        pace.restart();
        pace.pause_point();
        CHECK(pace.yields() == 0);
        std::this_thread::sleep_for(60ms);
        pace.pause_point();  // no restart: the sleep counts as used
        CHECK(pace.yields() == 1);
    }
}

TEST_CASE("the writer's scheduling can be applied both ways without losing rows", "[store]") {
    temp_dir dir;
    {
        auto s = open_store(dir.db(), 5);
        // A flush makes the writer come forward; the rows before and after it all arrive.
        s->append(finished(*s, nov22, "eu-1", "crustdata", "1"));
        REQUIRE(s->flush());
        s->append(finished(*s, nov22 + 1, "eu-1", "crustdata", "1"));
        REQUIRE(s->flush());
    }
    CHECK(count_rows(dir.db()) == 2);
    // On a thread of its own, as the writer: background is SCHED_IDLE where the way back is
    // allowed (else nice +5 for good), foreground is normal scheduling again.
    bool can_idle = false;
    int in_background = -1, in_foreground = -1;
    std::thread([&] {
        writer_priority priority;
        can_idle = priority.can_idle();
        priority.apply(writer_pacing::mode::background);
        in_background = sched_getscheduler(0);
        priority.apply(writer_pacing::mode::foreground);
        in_foreground = sched_getscheduler(0);
    }).join();
    if (can_idle) {
        CHECK(in_background == SCHED_IDLE);
        CHECK(in_foreground == SCHED_OTHER);
    } else {
        CHECK(in_background == SCHED_OTHER);
        CHECK(in_foreground == SCHED_OTHER);
    }
}

TEST_CASE("metering starts every credits and money budget from the ledger", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db());
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    s->append(finished(*s, now - 1000, "eu-1", "crustdata", "7"));
    auto pending = finished(*s, now - 500, "eu-1", "crustdata", "0");
    pending.finished_at.reset();
    pending.cost_usd = reserved_usd(pending.estimate, m("0.01"));
    s->append(pending);  // a call lost in a crash counts at its reservation
    REQUIRE(s->flush());

    vendor_profile crustdata;
    crustdata.name = "crustdata";
    crustdata.usd_per_unit = m("0.01");
    budget_def credits;
    credits.id = "c";
    credits.vendor = "crustdata";
    credits.limit = m("100");
    credits.period.every = period_unit::month;
    budget_def dollars = credits;
    dollars.id = "d";
    dollars.kind = budget_kind::money;
    dollars.unit = "usd";
    dollars.vendor = "*";
    dollars.limit = m("1");
    budget_def other = credits;
    other.id = "other";
    other.scope.client = "us-1";
    metering meter({credits, dollars, other}, {crustdata}, {}, 10, std::shared_ptr<ledger_store>(std::move(s)));
    std::string error;
    REQUIRE(meter.recompute_used(error));
    const auto views = meter.budgets();
    CHECK(views[0].used == m("12"));
    CHECK(views[1].used == m("0.12"));
    CHECK(views[2].used == m("0"));
}

TEST_CASE("sums of extreme amounts never make the ledger unreadable", "[store][hostile]") {
    // Bug 1 of issue 16: after a kill -9 with huge pending rows, SQLite's SUM overflowed and
    // creditgate would not start ("cannot read budget shadow's usage from the ledger").
    temp_dir dir;
    {
        auto store = open_store(dir.db());
        for (int i = 0; i < 20; ++i) {
            call_row pending = finished(*store, nov22 + i, "eu-1", "scraperapi", "0");
            pending.finished_at.reset();
            pending.decision = decision::pending;
            pending.estimate = money::max_amount();
            store->append(pending);
            call_row done = finished(*store, nov22 + i, "eu-1", "scraperapi", "0");
            done.actual = money::max_amount();
            done.cost_usd = money::max_amount();
            store->append(done);
        }
        REQUIRE(store->flush());
    }
    auto store = open_store(dir.db());
    budget_usage_query q{"scraperapi", {}, {days_from_civil({2026, 11, 1}) * 86400, days_from_civil({2026, 12, 1}) * 86400}, false};
    const auto used = store->used(q);
    REQUIRE(used.has_value());
    CHECK(used->micros() == INT64_MAX);  // 40 × 10^18 µ: more than any budget holds, shown saturated
    q.in_usd = true;
    REQUIRE(store->used(q).has_value());
    // Small sums stay exact through the split (whole units and µ remainders, negatives too).
    q.window = {days_from_civil({2026, 10, 1}) * 86400, days_from_civil({2026, 11, 1}) * 86400};
    const unix_millis oct = days_from_civil({2026, 10, 5}) * day_ms;
    store->append(finished(*store, oct, "eu-1", "scraperapi", "1.999999"));
    store->append(finished(*store, oct, "eu-1", "scraperapi", "2.000003"));
    REQUIRE(store->flush());
    q.in_usd = false;
    CHECK(*store->used(q) == m("4.000002"));
    // Reports over the day with the extreme rows answer too.
    usage_query report;
    report.from = {2026, 11, 22};
    report.to = {2026, 11, 22};
    report.group_by = {usage_group::vendor};
    const auto rows = store->usage(report);
    REQUIRE(rows.has_value());
    REQUIRE(rows->size() == 1);
    CHECK((*rows)[0].credits.micros() == INT64_MAX);
}
