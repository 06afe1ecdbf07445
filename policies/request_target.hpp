#pragma once
// request_target: what a proxy client asks for — absolute-form URLs ("http://host:port/path?q")
// and CONNECT authorities ("host:port") — with host names normalised the one way every
// comparison uses. Pure parsing: routing (route.hpp) decides what to do with them.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::policies {

struct authority {
    std::string host;  // normalised: lower case, no trailing dot, IPv6 without brackets
    std::uint16_t port = 0;
    bool is_ip_literal = false;
    std::string to_string() const;  // "host:port", brackets around IPv6
};

struct absolute_target {
    bool https = false;          // the client wrote https://
    authority where;             // port: explicit, else the scheme's default
    bool explicit_port = false;
    std::string origin_form;     // "/path?query", at least "/"
    std::string_view path() const;  // origin_form without the query
};

// Absolute-form request target; nullopt for origin-form, other schemes, userinfo or junk.
std::optional<absolute_target> parse_absolute_target(std::string_view target);

// CONNECT's authority-form: "host:port" (port required, 1..65535).
std::optional<authority> parse_connect_target(std::string_view target);

// The path part of an origin-form target, for logs and ledgers (never the query: keys live there).
std::string_view path_without_query(std::string_view origin_form);

}  // namespace creditgate::policies
