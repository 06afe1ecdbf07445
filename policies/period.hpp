#pragma once
// period: how a budget's window is described in config (none, day, week, month, or an
// anchored billing cycle). Windows are half-open [start, end) in UTC.

#include <cstdint>
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

// Time as the ledger counts it: seconds since the Unix epoch, UTC.
using unix_seconds = std::int64_t;

std::int64_t days_from_civil(const civil_date& date);  // days since 1970-01-01
civil_date civil_from_days(std::int64_t days);

// One budget window, half-open [start, end). `end` is INT64_MAX for `none`.
struct period_window {
    unix_seconds start = 0;
    unix_seconds end = INT64_MAX;
    auto operator<=>(const period_window&) const = default;
};

// The window that contains `t`. Anchored monthly cycles fall on the anchor's day, or on the
// month's last day when it is shorter (an anchor on the 31st runs 30 Apr → 31 May → 30 Jun).
period_window window_at(const period_spec& spec, unix_seconds t);

std::string format_utc(unix_seconds t);  // 2026-11-22T00:00:00Z

}  // namespace creditgate::policies
