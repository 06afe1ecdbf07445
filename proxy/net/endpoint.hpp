#pragma once
// endpoint: a host (name or IP literal) and a port, as the config writes listeners and `resolve`
// entries, and as the connector dials them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::proxy {

struct endpoint {
    std::string host;  // a name or an IP literal (without brackets)
    std::uint16_t port = 0;
    std::string to_string() const;  // brackets around IPv6 literals
};

// Parses "host:port", "[v6]:port"; port 0..65535.
std::optional<endpoint> parse_endpoint(std::string_view text);

}  // namespace creditgate::proxy
