#include "policies/store/call_row.hpp"

namespace creditgate::policies {

std::optional<money> reserved_usd(money estimate, const std::optional<money>& usd_per_unit) {
    if (!usd_per_unit) return std::nullopt;
    return estimate.times(*usd_per_unit, money::rounding::up);
}

std::optional<money> settled_usd(money actual, const std::optional<money>& usd_per_unit) {
    if (!usd_per_unit) return std::nullopt;
    return actual.times(*usd_per_unit, money::rounding::half_even);
}

}  // namespace creditgate::policies
