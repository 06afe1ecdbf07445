#include "proxy/admin/admin_routes.hpp"

#include <nlohmann/json.hpp>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>

namespace creditgate::proxy {
namespace {

std::array<unsigned char, 32> sha256(std::string_view text) {
    std::array<unsigned char, 32> out{};
    unsigned int len = 0;
    EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

}  // namespace

admin_response admin_error(unsigned status, std::string_view code, std::string_view message) {
    admin_response r;
    r.status = status;
    r.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n";
    return r;
}

bool admin_routes::authorized(std::string_view authorization) const {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size()) return false;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if ((authorization[i] | 0x20) != (scheme[i] | 0x20)) return false;
    const std::string token = hooks_.token();
    if (token.empty()) return false;  // never: the config refuses an empty token
    // Digests have one length whatever the token's, so the comparison time says nothing.
    const auto presented = sha256(authorization.substr(scheme.size()));
    const auto expected = sha256(token);
    return CRYPTO_memcmp(presented.data(), expected.data(), presented.size()) == 0;
}

admin_response admin_routes::handle(std::string_view method, std::string_view target, std::string_view authorization) const {
    const std::string_view path = target.substr(0, target.find('?'));
    if (path == "/healthz") {
        if (method != "GET" && method != "HEAD") return admin_error(405, "method_not_allowed", "use GET");
        return admin_response{200, "text/plain", "ok\n"};
    }
    if (!authorized(authorization)) {
        admin_response r = admin_error(401, "unauthorized", "send Authorization: Bearer <admin token>");
        r.bearer_challenge = true;
        return r;
    }
    if (path == "/api/v1/reload") {
        if (method != "POST") return admin_error(405, "method_not_allowed", "use POST");
        const auto errors = hooks_.reload();
        if (!errors.empty()) {
            admin_response r = admin_error(400, "invalid_config", "the config file does not validate; the running config is unchanged");
            auto body = nlohmann::json::parse(r.body);
            body["error"]["errors"] = errors;
            r.body = body.dump() + "\n";
            return r;
        }
        return admin_response{200, "application/json", "{\"reloaded\":true}\n"};
    }
    auto get_json = [&](const std::function<std::string()>& view) {
        if (method != "GET" && method != "HEAD") return admin_error(405, "method_not_allowed", "use GET");
        return admin_response{200, "application/json", view() + "\n"};
    };
    if (path == "/metrics" && hooks_.metrics) {
        if (method != "GET" && method != "HEAD") return admin_error(405, "method_not_allowed", "use GET");
        return admin_response{200, "text/plain; version=0.0.4; charset=utf-8", hooks_.metrics()};
    }
    if (path == "/api/v1/usage" && hooks_.usage) {
        if (method != "GET" && method != "HEAD") return admin_error(405, "method_not_allowed", "use GET");
        const auto q = target.find('?');
        return hooks_.usage(q == std::string_view::npos ? std::string_view() : target.substr(q + 1));
    }
    if (path == "/api/v1/instances" && hooks_.instances) {
        if (method != "GET" && method != "HEAD") return admin_error(405, "method_not_allowed", "use GET");
        return hooks_.instances();
    }
    if (path == "/api/v1/budgets" && hooks_.budgets) return get_json(hooks_.budgets);
    if (path == "/api/v1/accounts" && hooks_.accounts) return get_json(hooks_.accounts);
    if (path == "/api/v1/reservations" && hooks_.reservations) return get_json(hooks_.reservations);
    constexpr std::string_view accounts_prefix = "/api/v1/accounts/";
    constexpr std::string_view reset_suffix = "/reset";
    if (path.size() > accounts_prefix.size() + reset_suffix.size() && path.substr(0, accounts_prefix.size()) == accounts_prefix &&
        path.substr(path.size() - reset_suffix.size()) == reset_suffix && hooks_.reset_account) {
        if (method != "POST") return admin_error(405, "method_not_allowed", "use POST");
        const std::string_view id = path.substr(accounts_prefix.size(), path.size() - accounts_prefix.size() - reset_suffix.size());
        if (!hooks_.reset_account(id)) return admin_error(404, "not_found", "no account " + std::string(id));
        return admin_response{200, "application/json", nlohmann::json{{"account", id}, {"exhausted", false}}.dump() + "\n"};
    }
    return admin_error(404, "not_found", "no such admin route");
}

}  // namespace creditgate::proxy
