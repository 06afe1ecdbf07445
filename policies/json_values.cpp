#include "policies/json_values.hpp"

namespace creditgate::policies {

// A JSON number or numeric string as an exact amount, within SPEC §1's range; nullopt otherwise.
std::optional<money> numeric_amount(const json& value) {
    if (value.is_number_integer()) return money::parse_amount(value.dump());
    if (value.is_number_float()) return money::parse_amount(value.dump(), money::excess_digits::round_half_even);
    if (value.is_string()) return money::parse_amount(value.get<std::string>(), money::excess_digits::round_half_even);
    return std::nullopt;
}

const json* at_pointer(const json* doc, const std::string& pointer) {
    if (!doc) return nullptr;
    try {
        const json::json_pointer p(pointer);
        if (!doc->contains(p)) return nullptr;
        return &(*doc)[p];
    } catch (const json::exception&) {
        return nullptr;
    }
}

}  // namespace creditgate::policies
