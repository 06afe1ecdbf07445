#pragma once
// log_limiter: one log line per interval for an error that repeats in a loop (an accept that
// fails with EMFILE comes back 20 times a second); the lines in between are counted and the
// next line says how many there were.

#include <chrono>
#include <cstdint>
#include <optional>

namespace creditgate::proxy {

class log_limiter {
public:
    using clock = std::chrono::steady_clock;
    explicit log_limiter(clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

    // nullopt: stay quiet. Otherwise log now, mentioning the returned count of occurrences
    // that were kept quiet since the last line.
    std::optional<std::uint64_t> admit(clock::time_point now) {
        if (logged_ && now - last_ < interval_) {
            ++suppressed_;
            return std::nullopt;
        }
        logged_ = true;
        last_ = now;
        const std::uint64_t quiet = suppressed_;
        suppressed_ = 0;
        return quiet;
    }

private:
    clock::duration interval_;
    clock::time_point last_{};
    bool logged_ = false;
    std::uint64_t suppressed_ = 0;
};

}  // namespace creditgate::proxy
