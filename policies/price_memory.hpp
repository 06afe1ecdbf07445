#pragma once
// price_memory: the largest actual cost seen per vendor and set of cost rules over the last 24
// hours, so that drift is bounded (SPEC §5): once a call settles above what it reserved, later
// calls priced by the same rules reserve at least that much, and one mispriced rule overspends
// by at most the calls already in flight when it was first seen.

#include "policies/adaptive_mutex.hpp"
#include "policies/money.hpp"
#include "policies/period.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace creditgate::policies {

class price_memory {
public:
    // The least a call of `vendor` priced by `rules` reserves at `now`; 0 when none drifted.
    money floor(std::string_view vendor, std::uint64_t rules, unix_seconds now) const;
    // A call settled at `actual` having reserved `reserved`: kept when it cost more.
    void record(std::string_view vendor, std::uint64_t rules, money actual, money reserved, unix_seconds now);

private:
    // The largest actual per hour, for the last 24 hours: a sliding maximum that needs no list
    // of calls. An hour's slot is reused once its hour is a day old.
    struct hourly_max {
        std::array<std::int64_t, 24> hour{};  // hours since the epoch; 0 = empty
        std::array<money, 24> max{};
    };

    // (vendor, rules), looked up by a string_view without building a string.
    struct key_less {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            const std::string_view av = a.first, bv = b.first;
            return av != bv ? av < bv : a.second < b.second;
        }
    };

    mutable adaptive_mutex mutex_;
    std::atomic<bool> any_{false};  // nothing ever drifted: admission skips the lock
    std::map<std::pair<std::string, std::uint64_t>, hourly_max, key_less> seen_;
};

}  // namespace creditgate::policies
