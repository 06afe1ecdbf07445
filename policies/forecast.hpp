#pragma once
// forecast: when a credits or money budget runs out at its recent spend rate (SPEC §12,
// forecast_exhausted_at). spend_history keeps what a budget settled per hour for the last 24
// hours (24 buckets, no allocation); forecast_exhausted_at is the pure arithmetic.

#include "policies/money.hpp"
#include "policies/period.hpp"

#include <array>
#include <optional>

namespace creditgate::policies {

class spend_history {
public:
    explicit spend_history(unix_seconds since = 0) : since_(since) {}
    void add(unix_seconds now, money amount);
    // What was added from the start of the hour holding `from` until now (hour granularity).
    money_sum since(unix_seconds from, unix_seconds now) const;
    // When this history began (the ledger's start): before that it knows nothing.
    unix_seconds began() const { return since_; }

private:
    static constexpr int hours = 24;
    void advance(std::int64_t hour);
    std::array<money_sum, hours> buckets_{};
    std::int64_t last_hour_ = 0;  // the hour (Unix time / 3600) buckets_[last_hour_ % 24] holds
    unix_seconds since_;
};

struct spend_rate {
    money_sum spent;          // over `span_s` seconds
    std::int64_t span_s = 0;  // 0: no rate known
};

// The rate to forecast with: the last 24 hours when the history covers them (or the period, if
// younger), else the period so far (used over its elapsed time); a lifetime budget with a
// younger history uses what the history saw. `shared`: a fleet's budget, whose history is
// this instance's alone, forecasts from the fleet's period so far.
spend_rate recent_rate(const spend_history& h, money_sum used, const period_window& w, unix_seconds now, bool shared);

// When used + frozen reaches `limit` at `rate`: `now` when it has already; nullopt when nothing
// is spent, or when that moment is at or after the window's end.
std::optional<unix_seconds> forecast_exhausted_at(money_sum limit, money_sum used, money_sum frozen, const spend_rate& rate,
                                                  const period_window& w, unix_seconds now);

}  // namespace creditgate::policies
