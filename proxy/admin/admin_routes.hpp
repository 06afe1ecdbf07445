#pragma once
// admin_routes: what the admin endpoint answers, route by route, free of any transport so
// that it can be tested directly. Every route but /healthz needs the bearer token.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::proxy {

struct admin_response {
    unsigned status = 200;
    std::string content_type = "application/json";
    std::string body;
    bool bearer_challenge = false;  // add WWW-Authenticate: Bearer
};

struct admin_hooks {
    std::function<std::string()> token = nullptr;                     // the current admin token
    std::function<std::vector<std::string>()> reload = nullptr;      // re-reads the config; the errors, if any
    std::function<std::string()> budgets = nullptr;                   // JSON documents of SPEC §8
    std::function<std::string()> accounts = nullptr;
    std::function<std::string()> reservations = nullptr;
    std::function<bool(std::string_view id)> reset_account = nullptr;  // false: no such account
    std::function<std::string()> metrics = nullptr;                   // Prometheus text
    std::function<admin_response(std::string_view query)> usage = nullptr;  // GET /api/v1/usage?query
    std::function<admin_response()> instances = nullptr;                    // GET /api/v1/instances
};

class admin_routes {
public:
    explicit admin_routes(admin_hooks hooks) : hooks_(std::move(hooks)) {}

    admin_response handle(std::string_view method, std::string_view target, std::string_view authorization) const;
    // Routes that query the ledger database and may take a while.
    static bool reads_database(std::string_view target) {
        const std::string_view path = target.substr(0, target.find('?'));
        return path == "/api/v1/usage" || path == "/api/v1/instances";
    }

private:
    bool authorized(std::string_view authorization) const;
    admin_hooks hooks_;
};

admin_response admin_error(unsigned status, std::string_view code, std::string_view message);

}  // namespace creditgate::proxy
