#pragma once
// period: how a budget's window is described in config (none, day, week, month, or an
// anchored billing cycle). Windows are half-open [start, end) in UTC.

#include <optional>
#include <string>
#include <string_view>

namespace creditgate::policies {

struct civil_date {
    int year = 1970;
    int month = 1;  // 1..12
    int day = 1;    // 1..31
    auto operator<=>(const civil_date&) const = default;
};

// Strict YYYY-MM-DD with a real calendar day.
std::optional<civil_date> parse_civil_date(std::string_view text);
std::string to_string(const civil_date& date);
int days_in_month(int year, int month);

enum class period_unit { none, day, week, month };

struct period_spec {
    period_unit every = period_unit::none;
    std::optional<civil_date> anchor;  // billing cycles: windows start on the anchor's day
};

std::optional<period_unit> parse_period_unit(std::string_view text);
std::string_view to_string(period_unit unit);

}  // namespace creditgate::policies
