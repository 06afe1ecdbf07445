#include "proxy/config/secret_hash.hpp"
#include "proxy/config/proxy_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <stdexcept>

namespace creditgate::proxy {
namespace {

constexpr std::string_view scheme = "pbkdf2-sha256";

std::string base64_unpadded(const unsigned char* data, std::size_t size) {
    std::string out(4 * ((size + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
    out.resize(static_cast<std::size_t>(n));
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
}

// Unpadded base64 (the format writes none) into bytes.
std::optional<std::vector<unsigned char>> base64_bytes(std::string_view text) {
    if (text.empty() || text.find('=') != std::string_view::npos) return std::nullopt;
    auto decoded = base64_decode(text);
    if (!decoded) return std::nullopt;
    return std::vector<unsigned char>(decoded->begin(), decoded->end());
}

std::array<unsigned char, 32> derive(std::string_view secret, const std::vector<unsigned char>& salt, std::int64_t iterations) {
    std::array<unsigned char, 32> out{};
    if (PKCS5_PBKDF2_HMAC(secret.data(), static_cast<int>(secret.size()), salt.data(), static_cast<int>(salt.size()),
                          static_cast<int>(iterations), EVP_sha256(), static_cast<int>(out.size()), out.data()) != 1)
        throw std::runtime_error("PBKDF2 failed");
    return out;
}

}  // namespace

std::optional<secret_hash> parse_secret_hash(std::string_view text, std::string& error) {
    std::vector<std::string_view> parts;
    for (std::size_t start = 0;;) {
        const auto dollar = text.find('$', start);
        parts.push_back(text.substr(start, dollar == std::string_view::npos ? std::string_view::npos : dollar - start));
        if (dollar == std::string_view::npos) break;
        start = dollar + 1;
    }
    if (parts.size() != 4 || parts[0] != scheme) {
        error = "expected \"pbkdf2-sha256$ITERATIONS$SALT$HASH\" (made by `creditgate hash-secret`)";
        return std::nullopt;
    }
    secret_hash h;
    const auto [end, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), h.iterations);
    if (ec != std::errc() || end != parts[1].data() + parts[1].size() || h.iterations < secret_hash::min_iterations ||
        h.iterations > 100'000'000) {
        error = "iterations must be a number from 100000 to 100000000";
        return std::nullopt;
    }
    auto salt = base64_bytes(parts[2]);
    auto hash = base64_bytes(parts[3]);
    if (!salt || salt->size() < 8) {
        error = "the salt must be at least 8 bytes in base64";
        return std::nullopt;
    }
    if (!hash || hash->size() != h.hash.size()) {
        error = "the hash must be 32 bytes in base64";
        return std::nullopt;
    }
    h.salt = std::move(*salt);
    std::copy(hash->begin(), hash->end(), h.hash.begin());
    return h;
}

std::string make_secret_hash(std::string_view secret, std::int64_t iterations) {
    std::vector<unsigned char> salt(16);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) throw std::runtime_error("no random bytes for the salt");
    const auto hash = derive(secret, salt, iterations);
    std::string out(scheme);
    out.append("$").append(std::to_string(iterations)).append("$");
    out.append(base64_unpadded(salt.data(), salt.size())).append("$");
    out.append(base64_unpadded(hash.data(), hash.size()));
    return out;
}

bool verify_secret(const secret_hash& h, std::string_view secret) {
    const auto derived = derive(secret, h.salt, h.iterations);
    return CRYPTO_memcmp(derived.data(), h.hash.data(), derived.size()) == 0;
}

}  // namespace creditgate::proxy
