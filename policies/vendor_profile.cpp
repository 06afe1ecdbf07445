#include "policies/vendor_profile.hpp"

#include "policies/host_pattern.hpp"

namespace creditgate::policies {

bool vendor_profile::serves(std::string_view normalized_host) const {
    for (const auto& pattern : hosts)
        if (host_matches(pattern, normalized_host)) return true;
    return false;
}

std::optional<upstream_tls_mode> parse_upstream_tls(std::string_view text) {
    if (text == "always") return upstream_tls_mode::always;
    if (text == "never") return upstream_tls_mode::never;
    if (text == "as_client") return upstream_tls_mode::as_client;
    return std::nullopt;
}

std::optional<vendor_profile> read_vendor_profile(const json& document, const std::string& path, issue_list& issues) {
    const std::size_t before = issues.items().size();
    object_reader r(document, path, issues);
    if (!r.valid()) return std::nullopt;

    vendor_profile profile;
    profile.raw = document;
    if (auto name = r.string("name", true)) profile.name = *name;
    if (auto hosts = r.string_list("hosts")) {
        for (std::size_t i = 0; i < hosts->size(); ++i) {
            std::string host = normalize_host((*hosts)[i]);
            if (!is_valid_host_pattern(host))
                issues.add(index_path(r.path_of("hosts"), i), "\"" + (*hosts)[i] + "\" is not a host name or pattern");
            else
                profile.hosts.push_back(std::move(host));
        }
        if (hosts->empty()) r.error("hosts", "must name at least one host");
    } else if (!r.has("hosts")) {
        r.error("hosts", "is required");
    }
    if (auto unit = r.string("unit")) profile.unit = *unit;
    if (auto price = r.amount("usd_per_unit")) {
        if (price->is_negative()) r.error("usd_per_unit", "must not be negative");
        profile.usd_per_unit = price;
    }
    if (auto tls = r.string("upstream_tls")) {
        if (auto mode = parse_upstream_tls(*tls)) profile.upstream_tls = *mode;
        else r.error("upstream_tls", "must be \"always\", \"never\" or \"as_client\"");
    }
    // The metering sections are read by the cost model; accepted here as they are.
    for (const char* section : {"auth", "cost", "response", "balance"}) r.get(section);
    r.finish();
    if (issues.items().size() != before) return std::nullopt;
    return profile;
}

}  // namespace creditgate::policies
