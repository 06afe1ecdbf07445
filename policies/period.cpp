#include "policies/period.hpp"

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

}  // namespace creditgate::policies
