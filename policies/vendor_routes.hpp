#pragma once
// vendor_routes: which vendor, if any, serves a host, and which hosts are blind-tunnel passthrough.

#include "policies/vendor_profile.hpp"

#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace creditgate::policies {

// Heterogeneous lookup: find a string_view without building a std::string per request.
struct string_hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

class vendor_routes {
public:
    vendor_routes(const std::vector<vendor_profile>& vendors, std::vector<std::string> passthrough);

    // Hosts must be normalised (normalize_host). Null when no vendor serves it.
    const vendor_profile* vendor_for(std::string_view host) const;
    bool is_passthrough(std::string_view host) const;

private:
    std::unordered_map<std::string, const vendor_profile*, string_hash, std::equal_to<>> exact_;
    std::vector<std::pair<std::string, const vendor_profile*>> patterns_;
    std::vector<std::string> passthrough_;
};

}  // namespace creditgate::policies
