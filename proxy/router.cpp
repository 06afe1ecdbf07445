#include "proxy/router.hpp"

#include "policies/host_pattern.hpp"

namespace creditgate::proxy {

router::router(const std::vector<policies::vendor_profile>& vendors, std::vector<std::string> passthrough)
    : passthrough_(std::move(passthrough)) {
    for (const auto& vendor : vendors) {
        for (const auto& host : vendor.hosts) {
            if (host.find('*') == std::string::npos) exact_.emplace(host, &vendor);
            else patterns_.emplace_back(host, &vendor);
        }
    }
}

const policies::vendor_profile* router::vendor_for(std::string_view host) const {
    if (auto it = exact_.find(host); it != exact_.end()) return it->second;
    for (const auto& [pattern, vendor] : patterns_)
        if (policies::host_matches(pattern, host)) return vendor;
    return nullptr;
}

bool router::is_passthrough(std::string_view host) const {
    for (const auto& pattern : passthrough_)
        if (policies::host_matches(pattern, host)) return true;
    return false;
}

}  // namespace creditgate::proxy
