#include "proxy/config/proxy_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace creditgate::proxy {
namespace {

int base64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

std::optional<std::string> base64_decode(std::string_view in) {
    while (!in.empty() && in.back() == '=') in.remove_suffix(1);
    if (in.size() % 4 == 1) return std::nullopt;
    std::string out;
    out.reserve(in.size() * 3 / 4);
    unsigned buffer = 0;
    int bits = 0;
    for (char c : in) {
        const int v = base64_value(c);
        if (v < 0) return std::nullopt;
        buffer = (buffer << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((buffer >> bits) & 0xff));
        }
    }
    return out;
}

}  // namespace

std::optional<basic_credentials> parse_basic_credentials(std::string_view value) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    if (value.size() < 6) return std::nullopt;
    for (std::size_t i = 0; i < 5; ++i)
        if ((value[i] | 0x20) != "basic"[i]) return std::nullopt;
    if (value[5] != ' ') return std::nullopt;
    value.remove_prefix(6);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    auto decoded = base64_decode(value);
    if (!decoded) return std::nullopt;
    const auto colon = decoded->find(':');
    if (colon == std::string::npos) return std::nullopt;
    return basic_credentials{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

client_directory::digest client_directory::sha256(std::string_view text) {
    digest out{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

client_directory::client_directory(const std::vector<client_config>& clients) : dummy_(sha256("creditgate-dummy")) {
    for (const auto& c : clients) clients_[c.id] = entry{{c.id, c.team}, sha256(c.secret)};
}

const client_identity* client_directory::authenticate(std::string_view header_value) const {
    auto creds = parse_basic_credentials(header_value);
    if (!creds) return nullptr;
    const digest presented = sha256(creds->password);
    auto it = clients_.find(creds->user);
    const digest& expected = it == clients_.end() ? dummy_ : it->second.secret_digest;
    const bool equal = CRYPTO_memcmp(presented.data(), expected.data(), presented.size()) == 0;
    if (it == clients_.end() || !equal) return nullptr;
    return &it->second.identity;
}

}  // namespace creditgate::proxy
