#include "policies/forecast.hpp"

#include <algorithm>

namespace creditgate::policies {
namespace {

constexpr std::int64_t hour_s = 3600;
constexpr std::int64_t day_s = 86'400;

std::int64_t hour_of(unix_seconds t) { return t >= 0 ? t / hour_s : (t - hour_s + 1) / hour_s; }

}  // namespace

void spend_history::advance(std::int64_t hour) {
    if (hour <= last_hour_) return;
    // Buckets of hours that passed without spending start empty.
    const std::int64_t gone = std::min<std::int64_t>(hour - last_hour_, hours);
    for (std::int64_t h = 1; h <= gone; ++h) buckets_[static_cast<std::size_t>((last_hour_ + h) % hours)] = money_sum{};
    last_hour_ = hour;
}

void spend_history::add(unix_seconds now, money amount) {
    const std::int64_t hour = hour_of(now);
    if (last_hour_ == 0) last_hour_ = hour;
    advance(hour);
    if (hour <= last_hour_ - hours) return;  // older than the window (a clock step back)
    buckets_[static_cast<std::size_t>(((hour % hours) + hours) % hours)] += money_sum(amount);
}

money_sum spend_history::since(unix_seconds from, unix_seconds now) const {
    const std::int64_t first = std::max(hour_of(from), hour_of(now) - hours + 1);
    money_sum total;
    for (std::int64_t h = first; h <= std::min(hour_of(now), last_hour_); ++h)
        if (h > last_hour_ - hours) total += buckets_[static_cast<std::size_t>(((h % hours) + hours) % hours)];
    return total;
}

spend_rate recent_rate(const spend_history& h, money_sum used, const period_window& w, unix_seconds now, bool shared) {
    const bool periodic = w.start > 0 && w.end != INT64_MAX;
    const unix_seconds from = std::max(periodic ? w.start : INT64_MIN, now - day_s);
    if (!shared && h.began() <= from) return {h.since(from, now), now - from};
    if (periodic) return {used, now - w.start};   // the period so far (the fleet's, when shared)
    if (!shared) return {h.since(h.began(), now), now - h.began()};
    return {};
}

std::optional<unix_seconds> forecast_exhausted_at(money_sum limit, money_sum used, money_sum frozen, const spend_rate& rate,
                                                  const period_window& w, unix_seconds now) {
    const money_sum remaining = limit - used - frozen;
    if (!(money_sum() < remaining)) return now;
    if (rate.span_s <= 0 || !(money_sum() < rate.spent)) return std::nullopt;
    // remaining / (spent / span) seconds, rounded up; 128 bits, since both are in µ.
    const __int128 left = remaining.micros(), spent = rate.spent.micros();
    const __int128 seconds = (left * rate.span_s + spent - 1) / spent;
    if (w.end != INT64_MAX && seconds >= static_cast<__int128>(w.end) - now) return std::nullopt;
    if (seconds > static_cast<__int128>(INT64_MAX - now)) return std::nullopt;
    return now + static_cast<unix_seconds>(seconds);
}

}  // namespace creditgate::policies
