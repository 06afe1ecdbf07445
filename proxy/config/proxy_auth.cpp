#include "proxy/config/proxy_auth.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "proxy/config/secret_hash.hpp"

#include <atomic>

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

}  // namespace

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

struct client_directory::entry {
    client_identity identity;
    std::optional<secret_hash> hashed;
    // A plain secret's SHA-256; for a hashed one, the SHA-256 of the secret PBKDF2 accepted, valid
    // once `verified` is 2 (0: not yet, 1: being written). Only one secret can match a hash.
    mutable digest secret_digest{};
    mutable std::atomic<int> verified{0};
};

client_directory::digest client_directory::sha256(std::string_view text) {
    digest out{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

client_directory::client_directory(const std::vector<client_config>& clients) : dummy_(sha256("creditgate-dummy")) {
    for (const auto& c : clients) {
        auto e = std::make_unique<entry>();
        e->identity = {c.id, c.team};
        if (c.secret_hash) {
            std::string ignored;
            e->hashed = parse_secret_hash(*c.secret_hash, ignored);  // the config reader checked it
            has_hashed_ = true;
        } else {
            e->secret_digest = sha256(c.secret);
        }
        clients_[c.id] = std::move(e);
    }
}

client_directory::~client_directory() = default;

client_directory::check client_directory::authenticate(std::string_view header_value) const {
    auto creds = parse_basic_credentials(header_value);
    if (!creds) return {};
    const digest presented = sha256(creds->password);
    auto it = clients_.find(creds->user);
    const entry* e = it == clients_.end() ? nullptr : it->second.get();
    const bool settled = e && (!e->hashed || e->verified.load(std::memory_order_acquire) == 2);
    const digest& expected = settled ? e->secret_digest : dummy_;
    const bool equal = CRYPTO_memcmp(presented.data(), expected.data(), presented.size()) == 0;
    if (settled && equal) return {&e->identity};
    // An unknown user pays the hash too when hashed secrets exist, so timing does not tell who exists.
    const bool unverified = e ? e->hashed && !settled : has_hashed_;
    if (!unverified) return {};
    if (failed_recently(failure_key(creds->user, creds->password))) return {};
    return {nullptr, true, e, std::move(creds->user), std::move(creds->password)};
}

client_directory::digest client_directory::failure_key(std::string_view user, std::string_view password) {
    std::string text(user);
    text.append(":").append(password);
    return sha256(text);
}

bool client_directory::failed_recently(const digest& key) const {
    std::lock_guard lock(failures_mutex_);
    return failures_.count(std::string(key.begin(), key.end())) != 0;
}

const client_identity* client_directory::verify_hashed(const check& c) const {
    static const secret_hash dummy_hash = [] {
        std::string ignored;
        return *parse_secret_hash(make_secret_hash("creditgate-dummy"), ignored);
    }();
    const entry* e = c.claimed;
    const bool ok = verify_secret(e && e->hashed ? *e->hashed : dummy_hash, c.password) && e;
    if (ok) {
        int expected = 0;
        if (e->verified.compare_exchange_strong(expected, 1, std::memory_order_acq_rel)) {
            e->secret_digest = sha256(c.password);
            e->verified.store(2, std::memory_order_release);
        }
        return &e->identity;
    }
    const digest key = failure_key(c.user, c.password);
    std::lock_guard lock(failures_mutex_);
    if (failures_.size() >= 4096) failures_.clear();  // bounded: a flood of guesses forgets old ones
    failures_.insert(std::string(key.begin(), key.end()));
    return nullptr;
}

}  // namespace creditgate::proxy
