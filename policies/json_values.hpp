#pragma once
// json_values: reading values out of JSON documents from outside (request bodies, vendor answers)
// the way pricing and settlement both need it.

#include "policies/json_input.hpp"
#include "policies/money.hpp"

#include <optional>
#include <string>

namespace creditgate::policies {

// A JSON number or numeric string as an exact amount within SPEC §1's range; nullopt otherwise.
std::optional<money> numeric_amount(const json& value);
// The value at a JSON pointer, or null when the document or the value is missing or the pointer
// is malformed.
const json* at_pointer(const json* doc, const std::string& pointer);

}  // namespace creditgate::policies
