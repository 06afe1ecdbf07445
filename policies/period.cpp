#include "policies/period.hpp"

#include <algorithm>
#include <cstdio>

namespace creditgate::policies {

int days_in_month(int year, int month) {
    static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

std::optional<civil_date> parse_civil_date(std::string_view text) {
    if (text.size() != 10 || text[4] != '-' || text[7] != '-') return std::nullopt;
    auto number = [&](std::size_t from, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = from; i < from + len; ++i) {
            if (text[i] < '0' || text[i] > '9') return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    civil_date d{number(0, 4), number(5, 2), number(8, 2)};
    if (d.year < 1970 || d.month < 1 || d.month > 12 || d.day < 1 || d.day > days_in_month(d.year, d.month))
        return std::nullopt;
    return d;
}

std::string to_string(const civil_date& date) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", date.year, date.month, date.day);
    return buf;
}

std::optional<period_unit> parse_period_unit(std::string_view text) {
    if (text == "none") return period_unit::none;
    if (text == "day") return period_unit::day;
    if (text == "week") return period_unit::week;
    if (text == "month") return period_unit::month;
    return std::nullopt;
}

std::string_view to_string(period_unit unit) {
    switch (unit) {
        case period_unit::none: return "none";
        case period_unit::day: return "day";
        case period_unit::week: return "week";
        case period_unit::month: return "month";
    }
    return "none";
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain algorithms).
std::int64_t days_from_civil(const civil_date& date) {
    const std::int64_t y = date.year - (date.month <= 2 ? 1 : 0);
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const std::int64_t yoe = y - era * 400;
    const std::int64_t mp = (date.month + 9) % 12;
    const std::int64_t doy = (153 * mp + 2) / 5 + date.day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

civil_date civil_from_days(std::int64_t z) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    const int year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
    return {year, month, day};
}

namespace {

constexpr std::int64_t seconds_per_day = 86'400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// The start of the monthly cycle anchored on day `anchor_day` that is due in (year, month).
std::int64_t cycle_start_day(int year, int month, int anchor_day) {
    return days_from_civil({year, month, std::min(anchor_day, days_in_month(year, month))});
}

period_window monthly(std::int64_t day, int anchor_day) {
    const civil_date today = civil_from_days(day);
    int y = today.year, m = today.month;
    std::int64_t start = cycle_start_day(y, m, anchor_day);
    if (start > day) {  // this month's cycle has not begun yet: we are in last month's
        if (--m == 0) { m = 12; --y; }
        start = cycle_start_day(y, m, anchor_day);
    }
    int ny = y, nm = m + 1;
    if (nm == 13) { nm = 1; ++ny; }
    return {start * seconds_per_day, cycle_start_day(ny, nm, anchor_day) * seconds_per_day};
}

}  // namespace

period_window window_at(const period_spec& spec, unix_seconds t) {
    const std::int64_t day = floor_div(t, seconds_per_day);
    switch (spec.every) {
        case period_unit::none:
            return {};
        case period_unit::day:  // days start at midnight UTC; an anchor adds nothing
            return {day * seconds_per_day, (day + 1) * seconds_per_day};
        case period_unit::week: {
            // Weeks start on Monday (day 4, 1970-01-05, was one), or on the anchor's weekday.
            const std::int64_t first = spec.anchor ? days_from_civil(*spec.anchor) : 4;
            const std::int64_t start = day - (((day - first) % 7) + 7) % 7;
            return {start * seconds_per_day, (start + 7) * seconds_per_day};
        }
        case period_unit::month:
            return monthly(day, spec.anchor ? spec.anchor->day : 1);
    }
    return {};
}

std::string format_utc(unix_seconds t) {
    const std::int64_t day = floor_div(t, seconds_per_day);
    const std::int64_t rem = t - day * seconds_per_day;
    char buf[32];
    const civil_date d = civil_from_days(day);
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", d.year, d.month, d.day, static_cast<int>(rem / 3600),
                  static_cast<int>(rem / 60 % 60), static_cast<int>(rem % 60));
    return buf;
}

}  // namespace creditgate::policies
