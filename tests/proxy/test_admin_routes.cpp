#include "proxy/admin/admin_routes.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::proxy;

TEST_CASE("the admin token guards everything but /healthz", "[admin]") {
    int reloads = 0;
    admin_routes routes({[] { return std::string("t0ken"); }, [&] {
                             ++reloads;
                             return std::vector<std::string>{};
                         }});
    CHECK(routes.handle("GET", "/healthz", "").status == 200);
    CHECK(routes.handle("GET", "/healthz", "").body == "ok\n");
    CHECK(routes.handle("POST", "/api/v1/reload", "").status == 401);
    CHECK(routes.handle("POST", "/api/v1/reload", "Bearer wrong").status == 401);
    CHECK(routes.handle("POST", "/api/v1/reload", "Bearer t0ke").status == 401);
    CHECK(routes.handle("POST", "/api/v1/reload", "Basic t0ken").status == 401);
    CHECK(reloads == 0);
    CHECK(routes.handle("POST", "/api/v1/reload", "Bearer t0ken").status == 200);
    CHECK(reloads == 1);
    CHECK(routes.handle("GET", "/nope", "Bearer t0ken").status == 404);
    const auto denied = routes.handle("GET", "/api/v1/budgets", "");
    CHECK(denied.bearer_challenge);
    CHECK(denied.body.find("t0ken") == std::string::npos);
}

TEST_CASE("a reload that fails reports the errors", "[admin]") {
    admin_routes routes({[] { return std::string("t"); }, [] { return std::vector<std::string>{"cfg.json: budgets[0].limit: is required"}; }});
    const auto r = routes.handle("POST", "/api/v1/reload", "Bearer t");
    CHECK(r.status == 400);
    CHECK(r.body.find("budgets[0].limit") != std::string::npos);
}
