#include "policies/period.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

namespace {
unix_seconds at(const char* date, int hour = 0) { return days_from_civil(*parse_civil_date(date)) * 86400 + hour * 3600; }
std::string day_of(unix_seconds t) { return to_string(civil_from_days(t / 86400)); }
}  // namespace

TEST_CASE("calendar arithmetic round-trips", "[period]") {
    for (const char* d : {"1970-01-01", "2024-02-29", "2026-11-22", "2100-03-01"})
        CHECK(to_string(civil_from_days(days_from_civil(*parse_civil_date(d)))) == d);
    CHECK(format_utc(at("2026-11-22", 13) + 61) == "2026-11-22T13:01:01Z");
}

TEST_CASE("windows are half-open in UTC", "[period]") {
    const period_spec day{period_unit::day, {}};
    auto w = window_at(day, at("2026-11-22", 23) + 3599);
    CHECK(day_of(w.start) == "2026-11-22");
    CHECK(w.end == at("2026-11-23"));
    CHECK(window_at(day, at("2026-11-23")).start == at("2026-11-23"));  // the boundary belongs to the next day

    const period_spec week{period_unit::week, {}};
    w = window_at(week, at("2026-11-22", 12));  // a Sunday
    CHECK(day_of(w.start) == "2026-11-16");     // Monday
    CHECK(day_of(w.end) == "2026-11-23");
    CHECK(day_of(window_at(week, at("2026-11-23")).start) == "2026-11-23");

    const period_spec month{period_unit::month, {}};
    w = window_at(month, at("2026-02-28", 23));
    CHECK(day_of(w.start) == "2026-02-01");
    CHECK(day_of(w.end) == "2026-03-01");

    const period_spec none{};
    CHECK(window_at(none, at("2026-11-22")).end == INT64_MAX);
}

TEST_CASE("anchored monthly cycles fall on the anchor or the month's last day", "[period]") {
    const period_spec cycle{period_unit::month, civil_date{2026, 1, 31}};
    struct row { const char* when; const char* start; const char* end; };
    const row rows[] = {
        {"2026-02-10", "2026-01-31", "2026-02-28"},
        {"2026-02-28", "2026-02-28", "2026-03-31"},
        {"2026-04-30", "2026-04-30", "2026-05-31"},
        {"2026-04-29", "2026-03-31", "2026-04-30"},
        {"2024-02-29", "2024-02-29", "2024-03-31"},
    };
    for (const auto& r : rows) {
        INFO(r.when);
        auto w = window_at(cycle, at(r.when, 5));
        CHECK(day_of(w.start) == r.start);
        CHECK(day_of(w.end) == r.end);
    }
    const period_spec mid{period_unit::month, civil_date{2026, 11, 15}};
    auto w = window_at(mid, at("2026-12-14", 23));
    CHECK(day_of(w.start) == "2026-11-15");
    CHECK(day_of(w.end) == "2026-12-15");
    const period_spec weekly{period_unit::week, civil_date{2026, 11, 18}};  // a Wednesday
    CHECK(day_of(window_at(weekly, at("2026-11-24")).start) == "2026-11-18");
}
