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

bool is_read(std::string_view method) { return method == "GET" || method == "HEAD"; }

admin_response json_answer(std::string body) { return admin_response{200, "application/json", std::move(body) + "\n"}; }

}  // namespace

admin_response admin_error(unsigned status, std::string_view code, std::string_view message) {
    admin_response r;
    r.status = status;
    r.body = nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump() + "\n";
    return r;
}

bool same_token(std::string_view presented, std::string_view expected) {
    if (expected.empty()) return false;  // never: the config refuses an empty token
    // Digests have one length whatever the token's, so the comparison time says nothing.
    const auto a = sha256(presented), b = sha256(expected);
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::optional<admin_caller> admin_routes::caller_of(std::string_view authorization) const {
    constexpr std::string_view scheme = "Bearer ";
    if (authorization.size() <= scheme.size() || !hooks_.authenticate) return std::nullopt;
    for (std::size_t i = 0; i < scheme.size(); ++i)
        if ((authorization[i] | 0x20) != (scheme[i] | 0x20)) return std::nullopt;
    return hooks_.authenticate(authorization.substr(scheme.size()));
}

admin_response admin_routes::handle(std::string_view method, std::string_view target, std::string_view authorization,
                                    std::string_view body) const {
    const auto q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
    if (path == "/healthz") {
        if (!is_read(method)) return admin_error(405, "method_not_allowed", "use GET");
        return admin_response{200, "text/plain", "ok\n"};
    }
    // The page and its files are public: the token is typed into the page, never put in a URL.
    if (const page_asset* asset = find_page_asset(path)) {
        if (!is_read(method)) return admin_error(405, "method_not_allowed", "use GET");
        admin_response r{200, std::string(asset->content_type), {}};
        r.asset = asset;
        return r;
    }
    if (path == "/ca.pem" && hooks_.ca_pem) {
        if (!is_read(method)) return admin_error(405, "method_not_allowed", "use GET");
        std::string pem = hooks_.ca_pem();
        if (pem.empty()) return admin_error(404, "not_found", "this proxy has no local CA (tls.mitm is off)");
        return admin_response{200, "application/x-pem-file", std::move(pem)};
    }
    const auto caller = caller_of(authorization);
    if (!caller) {
        admin_response r = admin_error(401, "unauthorized", "send Authorization: Bearer <admin token>");
        r.bearer_challenge = true;
        return r;
    }
    admin_response r = guarded(method, path, query, *caller, body);
    r.caller = caller->name;
    return r;
}

admin_response admin_routes::guarded(std::string_view method, std::string_view path, std::string_view query,
                                     const admin_caller& caller, std::string_view body) const {
    if (!caller.admin()) {
        if (!is_read(method)) return admin_error(403, "forbidden", "a viewer token may only read (GET)");
        if (path == "/api/v1/accounts" || path == "/api/v1/instances" || path == "/metrics")
            return admin_error(403, "forbidden", "a viewer token sees its team only; this route spans every team");
    }
    if (path == "/api/v1/token") {  // who the page is talking as: it adapts to a viewer without probing
        if (!is_read(method)) return admin_error(405, "method_not_allowed", "use GET");
        nlohmann::json me{{"name", caller.name}, {"role", caller.admin() ? "admin" : "viewer"}, {"team", nullptr}};
        if (caller.team) me["team"] = *caller.team;
        return json_answer(me.dump());
    }
    if (path == "/api/v1/estimate" && hooks_.estimate) {
        if (method != "POST") return admin_error(405, "method_not_allowed", "use POST with the planned calls");
        return hooks_.estimate(body);
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
        return json_answer("{\"reloaded\":true}");
    }
    constexpr std::string_view accounts_prefix = "/api/v1/accounts/";
    constexpr std::string_view reset_suffix = "/reset";
    if (path.size() > accounts_prefix.size() + reset_suffix.size() && path.substr(0, accounts_prefix.size()) == accounts_prefix &&
        path.substr(path.size() - reset_suffix.size()) == reset_suffix && hooks_.reset_account) {
        if (method != "POST") return admin_error(405, "method_not_allowed", "use POST");
        const std::string_view id = path.substr(accounts_prefix.size(), path.size() - accounts_prefix.size() - reset_suffix.size());
        if (!hooks_.reset_account(id)) return admin_error(404, "not_found", "no account " + std::string(id));
        return json_answer(nlohmann::json{{"account", id}, {"exhausted", false}}.dump());
    }
    const bool known = (path == "/metrics" && hooks_.metrics) || (path == "/api/v1/usage" && hooks_.usage) ||
                       (path == "/api/v1/instances" && hooks_.instances) || (path == "/api/v1/budgets" && hooks_.budgets) ||
                       (path == "/api/v1/accounts" && hooks_.accounts) || (path == "/api/v1/reservations" && hooks_.reservations);
    if (!known) return admin_error(404, "not_found", "no such admin route");
    if (!is_read(method)) return admin_error(405, "method_not_allowed", "use GET");
    if (path == "/metrics") return admin_response{200, "text/plain; version=0.0.4; charset=utf-8", hooks_.metrics()};
    if (path == "/api/v1/usage") return hooks_.usage(query, caller);
    if (path == "/api/v1/instances") return hooks_.instances();
    if (path == "/api/v1/budgets") return json_answer(hooks_.budgets(caller));
    if (path == "/api/v1/accounts") return json_answer(hooks_.accounts());
    return json_answer(hooks_.reservations(caller));
}

}  // namespace creditgate::proxy
