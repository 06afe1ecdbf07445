#pragma once
// nearest_name: "did you mean" for a misspelt name in a config (a key, a vendor, a client...).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::policies {

// The candidate closest to `name` by edit distance (case-insensitive), if it is close enough to be
// a typo: at most 1 edit for names up to 4 characters, 2 up to 8, 3 beyond. Ties: the first.
std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string>& candidates);

// `; did you mean "x"?` or empty: for appending to an error message.
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace creditgate::policies
