#include "policies/vendor_routes.hpp"

#include "policies/host_pattern.hpp"

namespace creditgate::policies {

vendor_routes::vendor_routes(const std::vector<vendor_profile>& vendors, std::vector<std::string> passthrough)
    : passthrough_(std::move(passthrough)) {
    for (const auto& vendor : vendors) {
        for (const auto& host : vendor.hosts) {
            if (host.find('*') == std::string::npos) exact_.emplace(host, &vendor);
            else patterns_.emplace_back(host, &vendor);
        }
    }
}

const vendor_profile* vendor_routes::vendor_for(std::string_view host) const {
    if (auto it = exact_.find(host); it != exact_.end()) return it->second;
    for (const auto& [pattern, vendor] : patterns_)
        if (host_matches(pattern, host)) return vendor;
    return nullptr;
}

bool vendor_routes::is_passthrough(std::string_view host) const {
    for (const auto& pattern : passthrough_)
        if (host_matches(pattern, host)) return true;
    return false;
}

}  // namespace creditgate::policies
