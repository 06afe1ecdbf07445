#include "policies/price_memory.hpp"

#include <mutex>

namespace creditgate::policies {
namespace {

std::int64_t hour_of(unix_seconds t) { return t >= 0 ? t / 3600 : (t - 3599) / 3600; }

}  // namespace

money price_memory::floor(std::string_view vendor, std::uint64_t rules, unix_seconds now) const {
    if (!any_.load(std::memory_order_acquire)) return money{};
    const std::int64_t hour = hour_of(now);
    std::lock_guard lock(mutex_);
    // std::less<> finds a (string_view, rules) key without building a string.
    const auto it = seen_.find(std::pair<std::string_view, std::uint64_t>(vendor, rules));
    if (it == seen_.end()) return money{};
    money most;
    for (std::size_t i = 0; i < 24; ++i)
        if (it->second.hour[i] != 0 && hour - it->second.hour[i] < 24 && it->second.max[i] > most) most = it->second.max[i];
    return most;
}

void price_memory::record(std::string_view vendor, std::uint64_t rules, money actual, money reserved, unix_seconds now) {
    if (actual <= reserved) return;
    const std::int64_t hour = hour_of(now);
    std::lock_guard lock(mutex_);
    auto it = seen_.find(std::pair<std::string_view, std::uint64_t>(vendor, rules));
    if (it == seen_.end()) it = seen_.emplace(std::pair<std::string, std::uint64_t>(vendor, rules), hourly_max{}).first;
    hourly_max& h = it->second;
    const std::size_t slot = static_cast<std::size_t>(((hour % 24) + 24) % 24);
    if (h.hour[slot] != hour) {
        h.hour[slot] = hour;
        h.max[slot] = money{};
    }
    if (actual > h.max[slot]) h.max[slot] = actual;
    any_.store(true, std::memory_order_release);
}

}  // namespace creditgate::policies
