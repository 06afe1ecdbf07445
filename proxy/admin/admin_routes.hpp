#pragma once
// admin_routes: what the admin endpoint answers, route by route, free of any transport so
// that it can be tested directly. Every route but /healthz, /ca.pem and the usage page's static
// files needs a bearer token; a viewer token (SPEC §8) reads its own team's views only.

#include "proxy/admin/page_assets.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::proxy {

struct admin_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    bool bearer_challenge = false;        // add WWW-Authenticate: Bearer
    std::string caller = {};              // the token's name, for the log ("" when none was valid)
    const page_asset* asset = nullptr;    // a static file: sent as it is stored (see admin_server)
    std::string attachment = {};          // a download: Content-Disposition: attachment; filename=this
};

// Who a valid token belongs to. Views take it to narrow what they show.
struct admin_caller {
    std::string name;
    std::optional<std::string> team;  // a viewer's team; nullopt for an admin
    bool admin() const { return !team; }
};

struct admin_hooks {
    // The caller the presented token belongs to (compared in constant time); nullopt if none.
    std::function<std::optional<admin_caller>(std::string_view token)> authenticate = nullptr;
    std::function<std::vector<std::string>()> reload = nullptr;  // re-reads the config; the errors, if any
    std::function<std::string(const admin_caller&)> budgets = nullptr;  // JSON documents of SPEC §8
    std::function<std::string()> accounts = nullptr;
    std::function<std::string(const admin_caller&)> reservations = nullptr;
    std::function<bool(std::string_view id)> reset_account = nullptr;  // false: no such account
    std::function<std::string()> metrics = nullptr;                   // Prometheus text
    std::function<admin_response(std::string_view query, const admin_caller&)> usage = nullptr;  // GET /api/v1/usage?query
    std::function<admin_response()> instances = nullptr;                                         // GET /api/v1/instances
    std::function<std::string()> ca_pem = nullptr;  // the local CA certificate; "" when there is none
    std::function<admin_response(std::string_view body)> estimate = nullptr;  // POST /api/v1/estimate
};

class admin_routes {
public:
    explicit admin_routes(admin_hooks hooks) : hooks_(std::move(hooks)) {}

    admin_response handle(std::string_view method, std::string_view target, std::string_view authorization,
                          std::string_view body = {}) const;
    // Whether this Authorization value carries a valid token (of any role).
    bool admits(std::string_view authorization) const { return caller_of(authorization).has_value(); }
    // Routes that query the ledger database and may take a while.
    static bool reads_database(std::string_view target) {
        const std::string_view path = target.substr(0, target.find('?'));
        return path == "/api/v1/usage" || path == "/api/v1/instances" || path == "/api/v1/estimate";
    }

private:
    std::optional<admin_caller> caller_of(std::string_view authorization) const;
    admin_response guarded(std::string_view method, std::string_view path, std::string_view query, const admin_caller& caller,
                           std::string_view body) const;
    admin_hooks hooks_;
};

admin_response admin_error(unsigned status, std::string_view code, std::string_view message);

// Digest-then-compare: equal time whatever the tokens' lengths and contents. For authenticate hooks.
bool same_token(std::string_view presented, std::string_view expected);

}  // namespace creditgate::proxy
