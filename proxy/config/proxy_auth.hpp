#pragma once
// proxy_auth: who is calling. Parses `Proxy-Authorization: Basic` and checks the secret
// in constant time against the configured clients.

#include "proxy/config/config.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace creditgate::proxy {

struct basic_credentials {
    std::string user;
    std::string password;
};

// "Basic <base64(user:password)>"; the scheme is case-insensitive. nullopt when malformed.
std::optional<basic_credentials> parse_basic_credentials(std::string_view header_value);

struct client_identity {
    std::string id;
    std::string team;
};

class client_directory {
public:
    explicit client_directory(const std::vector<client_config>& clients);

    // The client these credentials prove, or null. Takes the same time whether the user
    // exists or not, and whatever the secret's length.
    const client_identity* authenticate(std::string_view header_value) const;

private:
    using digest = std::array<unsigned char, 32>;
    struct entry {
        client_identity identity;
        digest secret_digest;
    };
    static digest sha256(std::string_view text);

    std::unordered_map<std::string, entry> clients_;
    digest dummy_;  // compared against when the user is unknown
};

}  // namespace creditgate::proxy
