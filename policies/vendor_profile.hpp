#pragma once
// vendor_profile: what creditgate knows about one metered API, loaded from data
// (config/vendors/NAME.json), so that a new vendor needs no rebuild.

#include "policies/json_input.hpp"
#include "policies/money.hpp"

#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

enum class upstream_tls_mode { always, never, as_client };

struct vendor_profile {
    std::string name;
    std::vector<std::string> hosts;  // normalised exact names or "*." patterns
    std::string unit = "credits";
    std::optional<money> usd_per_unit;
    upstream_tls_mode upstream_tls = upstream_tls_mode::always;
    json raw;  // the profile document, for the parts later stages read

    bool serves(std::string_view normalized_host) const;
};

// Validates one profile document; problems are reported under `path` in `issues`.
std::optional<vendor_profile> read_vendor_profile(const json& document, const std::string& path, issue_list& issues);

std::optional<upstream_tls_mode> parse_upstream_tls(std::string_view text);

}  // namespace creditgate::policies
