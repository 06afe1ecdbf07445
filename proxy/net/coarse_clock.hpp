#pragma once
// coarse_clock: steady_clock time points from CLOCK_MONOTONIC_COARSE, for deadlines of whole
// seconds and idle stamps. A precise steady_clock::now() reads the TSC through the vDSO, ~45 ns
// on these VMs; a proxied request read it 11 times (perf: 2.6% of the worker). The coarse clock is
// the kernel's time at its last tick, read from the vDSO page without the TSC: same timeline as
// steady_clock, a few ns, behind by up to a tick (4 ms here) plus however late the tick ran
// (measured: up to 5.2 ms behind with a 4 ms tick).

#include <chrono>
#include <ctime>

namespace creditgate::proxy {

struct coarse_clock {
    using time_point = std::chrono::steady_clock::time_point;

    static time_point now() noexcept {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
        return time_point(std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec)));
    }

    // The kernel's tick, the coarse clock's step.
    static std::chrono::nanoseconds tick() noexcept {
        static const std::chrono::nanoseconds step = [] {
            timespec res{};
            ::clock_getres(CLOCK_MONOTONIC_COARSE, &res);
            return std::chrono::seconds(res.tv_sec) + std::chrono::nanoseconds(res.tv_nsec);
        }();
        return step;
    }

    // A deadline `timeout` from now. Two ticks are added for the coarse reading's lag, so it is
    // not early unless a tick ran more than a tick late (a descheduled vCPU); then it is early by
    // that delay, a few ms on timeouts of seconds.
    static time_point deadline_after(std::chrono::steady_clock::duration timeout) noexcept {
        return now() + 2 * tick() + timeout;
    }
};

}  // namespace creditgate::proxy
