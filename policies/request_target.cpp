#include "policies/request_target.hpp"

#include "policies/host_pattern.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace creditgate::policies {
namespace {

bool iequals_prefix(std::string_view text, std::string_view prefix) {
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        char c = text[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != prefix[i]) return false;
    }
    return true;
}

bool valid_reg_name(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                        c == '.' || c == '_';
        if (!ok) return false;
    }
    return host.front() != '.' && host.find("..") == std::string_view::npos;
}

// Parses "host", "host:port", "[v6]", "[v6]:port". default_port 0 = a port is required.
std::optional<authority> parse_authority(std::string_view text, std::uint16_t default_port, bool& explicit_port) {
    std::string_view host, port;
    bool has_port_separator = false;
    authority out;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = text.substr(1, close - 1);
        const std::string_view rest = text.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return std::nullopt;
            has_port_separator = true;
            port = rest.substr(1);
        }
        // The one spelling of the address, so that comparisons and pool keys agree.
        in6_addr addr{};
        char text6[INET6_ADDRSTRLEN];
        if (::inet_pton(AF_INET6, std::string(host).c_str(), &addr) != 1 || !::inet_ntop(AF_INET6, &addr, text6, sizeof text6))
            return std::nullopt;
        out.host = text6;
        out.is_ip_literal = true;
    } else {
        const auto colon = text.find(':');
        host = text.substr(0, colon);
        if (colon != std::string_view::npos) {
            has_port_separator = true;
            port = text.substr(colon + 1);
        }
        if (!valid_reg_name(host)) return std::nullopt;
        out.host = normalize_host(host);
        // Only a name that is all digits and dots can be an IPv4 literal; skip the parse otherwise.
        if (out.host.find_first_not_of("0123456789.") == std::string::npos) {
            in_addr addr{};
            out.is_ip_literal = ::inet_pton(AF_INET, out.host.c_str(), &addr) == 1;
        }
    }
    if (has_port_separator && port.empty()) return std::nullopt;  // "host:" is malformed
    explicit_port = !port.empty();
    if (port.empty()) {
        if (default_port == 0) return std::nullopt;
        out.port = default_port;
    } else {
        unsigned value = 0;
        auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
        if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) return std::nullopt;
        out.port = static_cast<std::uint16_t>(value);
    }
    return out;
}

}  // namespace

std::string authority::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::string_view absolute_target::path() const { return path_without_query(origin_form); }

std::string_view path_without_query(std::string_view origin_form) {
    return origin_form.substr(0, origin_form.find_first_of("?#"));
}

std::optional<absolute_target> parse_absolute_target(std::string_view target) {
    absolute_target out;
    std::size_t scheme_len = 0;
    if (iequals_prefix(target, "http://")) {
        scheme_len = 7;
    } else if (iequals_prefix(target, "https://")) {
        scheme_len = 8;
        out.https = true;
    } else {
        return std::nullopt;
    }
    std::string_view rest = target.substr(scheme_len);
    const auto end = rest.find_first_of("/?#");
    const std::string_view auth_text = rest.substr(0, end);
    if (auth_text.find('@') != std::string_view::npos) return std::nullopt;  // userinfo: refused, never forwarded
    auto where = parse_authority(auth_text, out.https ? 443 : 80, out.explicit_port);
    if (!where) return std::nullopt;
    out.where = std::move(*where);
    std::string_view tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
    tail = tail.substr(0, tail.find('#'));  // fragments are never sent
    if (tail.empty() || tail.front() != '/') out.origin_form.push_back('/');
    out.origin_form.append(tail);
    return out;
}

std::optional<authority> parse_connect_target(std::string_view target) {
    bool explicit_port = false;
    return parse_authority(target, 0, explicit_port);
}

}  // namespace creditgate::policies
