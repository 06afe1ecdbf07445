#pragma once
// proxy_auth: who is calling. Parses `Proxy-Authorization: Basic` and checks the secret in
// constant time against the configured clients: a plain secret by SHA-256, a hashed one by PBKDF2
// once per credential (proxy/exchange/secret_verifier runs that off the workers).

#include "proxy/config/config.hpp"

#include <array>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace creditgate::proxy {

struct basic_credentials {
    std::string user;
    std::string password;
};

// Standard base64, padding optional; nullopt on any other byte. (Also secret_hash's decoder.)
std::optional<std::string> base64_decode(std::string_view in);

// "Basic <base64(user:password)>"; the scheme is case-insensitive. nullopt when malformed.
std::optional<basic_credentials> parse_basic_credentials(std::string_view header_value);

struct client_identity {
    std::string id;
    std::string team;
};

class client_directory {
public:
    explicit client_directory(const std::vector<client_config>& clients);
    ~client_directory();

    struct entry;
    // What a Proxy-Authorization value proves without paying a slow hash: a client, nobody, or
    // "ask verify_hashed" for a hashed secret (SPEC §13) this process has not verified yet.
    struct check {
        const client_identity* client = nullptr;
        bool needs_hash = false;
        const entry* claimed = nullptr;  // the hashed client named (null: an unknown user)
        std::string user{}, password{};  // only when needs_hash
    };

    // Takes the same time whether the user exists or not, and whatever the secret's length.
    check authenticate(std::string_view header_value) const;
    // PBKDF2 for a check that needs it: ~0.12 s of CPU, so never on a worker thread. Thread-safe;
    // a success is remembered (the next authenticate of that credential is a SHA-256), and so is a
    // recent failure (a client retrying a wrong secret costs one hash, not one per request).
    const client_identity* verify_hashed(const check& c) const;
    bool has_hashed_secrets() const { return has_hashed_; }

private:
    using digest = std::array<unsigned char, 32>;
    static digest sha256(std::string_view text);
    static digest failure_key(std::string_view user, std::string_view password);
    bool failed_recently(const digest& key) const;

    std::unordered_map<std::string, std::unique_ptr<entry>> clients_;
    digest dummy_;  // compared against when the user is unknown
    bool has_hashed_ = false;
    mutable std::mutex failures_mutex_;
    mutable std::unordered_set<std::string> failures_;  // sha256(user:password) of recent failures
};

}  // namespace creditgate::proxy
