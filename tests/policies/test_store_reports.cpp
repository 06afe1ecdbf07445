// The SQLite ledger's reports over time: retention keeps pruned days in the roll-up and in
// budgets' used; rows carry their unit; hours come from raw rows.
#include "policies/store/retention.hpp"
#include "policies/store/sqlite_store.hpp"
#include "policies/store/usage_report.hpp"
#include "store_fixture.hpp"

#include <catch2/catch.hpp>

using namespace store_fixture;

TEST_CASE("retention: pruned days still count toward budgets and still report by day", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db());
    const unix_millis dec1 = days_from_civil({2026, 12, 1}) * day_ms;
    s->append(finished(*s, nov22, "eu-1", "crustdata", "1"));
    s->append(finished(*s, nov22 + 3'600'000, "us-1", "crustdata", "2"));
    s->append(finished(*s, nov22 - day_ms, "eu-1", "scraperapi", "4"));
    s->append(finished(*s, dec1 - 1, "eu-1", "crustdata", "8"));
    s->append(finished(*s, dec1, "eu-1", "crustdata", "16"));
    call_row pending = finished(*s, nov22, "eu-1", "crustdata", "0");  // a crash left it pending: counts at its estimate
    pending.finished_at.reset();
    s->append(pending);
    REQUIRE(s->flush());

    const period_window nov{days_from_civil({2026, 11, 1}) * 86400, days_from_civil({2026, 12, 1}) * 86400};
    const period_window dec{days_from_civil({2026, 12, 1}) * 86400, days_from_civil({2027, 1, 1}) * 86400};
    const std::vector<budget_usage_query> queries{
        {"crustdata", {}, nov, false},  {"crustdata", {}, {}, false}, {"*", {}, {}, true},
        {"crustdata", {std::string("growth"), {}, {}, {}}, {}, false}, {"crustdata", {{}, std::string("us-1"), {}, {}}, nov, true},
        {"scraperapi", {{}, {}, std::string("scraperapi-main"), {}}, {}, false}, {"crustdata", {}, dec, false},
    };
    std::vector<money> before;
    for (const auto& q : queries) before.push_back(*s->used(q));
    CHECK(before[1] == m("32"));  // 1 + 2 + 8 + 16 + the pending 5
    usage_query by_day{{2026, 11, 1}, {2026, 12, 31}, {usage_group::day, usage_group::client}, {}, {}, {}};
    const auto report_before = *s->usage(by_day);

    const auto deleted = s->prune({2026, 12, 1});
    REQUIRE(deleted);
    CHECK(*deleted == 4);                   // the finished November rows; the pending one stays
    CHECK(count_rows(dir.db()) == 2);
    CHECK(*s->prune({2026, 11, 15}) == 0);  // an earlier horizon never moves it back
    for (std::size_t i = 0; i < queries.size(); ++i) {
        INFO("query " << i);
        CHECK(*s->used(queries[i]) == before[i]);
    }
    const auto report_after = *s->usage(by_day);
    REQUIRE(report_after.size() == report_before.size());
    for (std::size_t i = 0; i < report_after.size(); ++i) {
        CHECK(report_after[i].keys == report_before[i].keys);
        CHECK(report_after[i].requests == report_before[i].requests);
        CHECK(report_after[i].credits == report_before[i].credits);
    }
    // A store opened again sees the same horizon.
    s.reset();
    auto again = open_store(dir.db());
    CHECK(*again->used(queries[1]) == before[1]);
}

TEST_CASE("the retention horizon: retention_days, --before, and path_prefix budgets", "[store]") {
    const civil_date today{2026, 12, 3};
    const unix_seconds now = days_from_civil(today) * 86400 + 3600;
    CHECK_FALSE(plan_retention(today, 0, std::nullopt, {}, now).before);
    CHECK(*plan_retention(today, 400, std::nullopt, {}, now).before == civil_date{2025, 10, 29});
    CHECK(*plan_retention(today, 400, civil_date{2026, 12, 1}, {}, now).before == civil_date{2026, 12, 1});
    budget_def monthly;
    monthly.id = "person-search";
    monthly.kind = budget_kind::credits;
    monthly.scope.path_prefix = "/person";
    monthly.period.every = period_unit::month;
    auto plan = plan_retention(today, 1, std::nullopt, {monthly}, now);
    CHECK(*plan.before == civil_date{2026, 12, 1});  // not into this month's window
    CHECK_THAT(plan.note, Catch::Contains("person-search"));
    budget_def lifetime = monthly;
    lifetime.period.every = period_unit::none;
    CHECK_FALSE(plan_retention(today, 1, std::nullopt, {lifetime}, now).before);
}

TEST_CASE("usage rows carry their unit, \"mixed\" across vendors, and group by hour from raw rows", "[store]") {
    temp_dir dir;
    auto s = open_store(dir.db());
    s->append(finished(*s, nov22 + 3'600'000, "eu-1", "crustdata", "2"));       // 01:00
    s->append(finished(*s, nov22 + 3'700'000, "eu-1", "scraperapi", "10"));     // 01:01
    s->append(finished(*s, nov22 + 5 * 3'600'000, "eu-1", "crustdata", "3"));   // 05:00
    s->append(finished(*s, nov22 + 5 * 3'600'000, "us-1", "crustdata", "0", decision::rejected, 402));
    REQUIRE(s->flush());
    const auto unit_of = [](const std::string& vendor) { return vendor == "crustdata" ? std::string("credits") : std::string("sa-credits"); };

    usage_query by_vendor{{2026, 11, 22}, {2026, 11, 22}, {usage_group::vendor}, {}, {}, {}};
    auto rows = *s->usage(by_vendor);
    assign_units(rows, unit_of);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].unit == "credits");
    CHECK(rows[1].unit == "sa-credits");
    usage_query by_client{{2026, 11, 22}, {2026, 11, 22}, {usage_group::client}, {}, {}, {}};
    rows = *s->usage(by_client);
    assign_units(rows, unit_of);
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].unit == "mixed");    // eu-1: two vendors
    CHECK(rows[1].unit == "credits");  // us-1: crustdata only

    usage_query by_hour{{2026, 11, 22}, {2026, 11, 22}, {usage_group::hour, usage_group::vendor}, {}, {}, {}};
    rows = *s->usage(by_hour);
    REQUIRE(rows.size() == 3);
    CHECK(rows[0].keys == std::vector<std::string>{"2026-11-22T01:00Z", "crustdata"});
    CHECK(rows[0].credits == m("2"));
    CHECK(rows[1].keys == std::vector<std::string>{"2026-11-22T01:00Z", "scraperapi"});
    CHECK(rows[2].keys == std::vector<std::string>{"2026-11-22T05:00Z", "crustdata"});
    CHECK(rows[2].requests == 2);
    CHECK(rows[2].rejected == 1);
    CHECK(rows[2].succeeded == 1);
    CHECK(rows[2].credits == m("3"));
    // By hour and by day agree on the day's totals.
    usage_query day{{2026, 11, 22}, {2026, 11, 22}, {usage_group::day}, {}, {}, {}};
    usage_query hour_total{{2026, 11, 22}, {2026, 11, 22}, {usage_group::day, usage_group::hour}, {}, {}, {}};
    std::int64_t hourly_requests = 0;
    const auto hours = *s->usage(hour_total);  // kept: a range-for over *optional-temporary would dangle
    for (const auto& r : hours) hourly_requests += r.requests;
    CHECK(hourly_requests == (*s->usage(day))[0].requests);
    CHECK(parse_usage_request({{"group_by", "hour,client"}}, {2026, 11, 22}).value);
}
