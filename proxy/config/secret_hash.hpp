#pragma once
// secret_hash: client secrets stored as "pbkdf2-sha256$ITER$SALT$HASH" (SPEC §13) — salt and hash in
// base64 without padding. Made by `creditgate hash-secret`; checked by client_directory, which
// pays the hash once per distinct credential (proxy_auth.hpp).

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::proxy {

struct secret_hash {
    static constexpr std::int64_t min_iterations = 100'000;
    // OWASP's 2023 figure for PBKDF2-HMAC-SHA256: ~0.12 s on one core of these machines, paid
    // once per credential and process (the verified credential is cached), off the workers.
    static constexpr std::int64_t default_iterations = 600'000;

    std::int64_t iterations = 0;
    std::vector<unsigned char> salt;
    std::array<unsigned char, 32> hash{};
};

// nullopt with `error` set when `text` is not a hash this version can check.
std::optional<secret_hash> parse_secret_hash(std::string_view text, std::string& error);

// A new salted hash of `secret`, formatted for the config.
std::string make_secret_hash(std::string_view secret, std::int64_t iterations = secret_hash::default_iterations);

// Whether `secret` hashes to `h` (constant time in the comparison).
bool verify_secret(const secret_hash& h, std::string_view secret);

}  // namespace creditgate::proxy
