#include "proxy/admin/admin_routes.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::proxy;

namespace {

// Two tokens, as admin.token plus admin.tokens would give: "t0ken" (admin) and "v1ew" (team growth).
admin_hooks hooks_with_roles(int& reloads) {
    admin_hooks h;
    h.authenticate = [](std::string_view presented) -> std::optional<admin_caller> {
        if (same_token(presented, "t0ken")) return admin_caller{"admin", std::nullopt};
        if (same_token(presented, "v1ew")) return admin_caller{"growth-lead", std::string("growth")};
        return std::nullopt;
    };
    h.reload = [&reloads] {
        ++reloads;
        return std::vector<std::string>{};
    };
    h.budgets = [](const admin_caller& c) { return std::string("{\"team\":\"") + c.team.value_or("*") + "\"}"; };
    h.accounts = [] { return std::string("{\"accounts\":[]}"); };
    h.reservations = [](const admin_caller&) { return std::string("{\"reservations\":[]}"); };
    h.metrics = [] { return std::string("# metrics\n"); };
    h.instances = [] { return admin_response{200, "application/json", "{}"}; };
    h.usage = [](std::string_view query, const admin_caller& c) {
        return admin_response{200, "application/json", std::string(query) + "|" + c.team.value_or("*")};
    };
    h.reset_account = [](std::string_view id) { return id == "a1"; };
    h.ca_pem = [] { return std::string("-----BEGIN CERTIFICATE-----\n"); };
    return h;
}

}  // namespace

TEST_CASE("the admin token guards everything but /healthz, /ca.pem and the page", "[admin]") {
    int reloads = 0;
    admin_routes routes(hooks_with_roles(reloads));
    CHECK(routes.handle("GET", "/healthz", "").status == 200);
    CHECK(routes.handle("GET", "/healthz", "").body == "ok\n");
    CHECK(routes.handle("GET", "/ca.pem", "").status == 200);
    CHECK(routes.handle("GET", "/", "").asset != nullptr);
    CHECK(routes.handle("POST", "/api/v1/reload", "").status == 401);
    CHECK(routes.handle("POST", "/api/v1/reload", "Bearer wrong").status == 401);
    CHECK(routes.handle("POST", "/api/v1/reload", "Bearer t0ke").status == 401);
    CHECK(routes.handle("POST", "/api/v1/reload", "Basic t0ken").status == 401);
    CHECK(reloads == 0);
    const auto ok = routes.handle("POST", "/api/v1/reload", "bearer t0ken");
    CHECK(ok.status == 200);
    CHECK(ok.caller == "admin");
    CHECK(reloads == 1);
    CHECK(routes.handle("GET", "/nope", "Bearer t0ken").status == 404);
    const auto denied = routes.handle("GET", "/api/v1/budgets", "");
    CHECK(denied.bearer_challenge);
    CHECK(denied.caller.empty());
    CHECK(denied.body.find("t0ken") == std::string::npos);
}

TEST_CASE("a viewer reads its team's views and nothing else", "[admin]") {
    int reloads = 0;
    admin_routes routes(hooks_with_roles(reloads));
    // Table: method, target, status for the viewer, status for the admin.
    struct row {
        const char* method;
        const char* target;
        unsigned viewer, admin;
    };
    const row table[] = {
        {"GET", "/api/v1/budgets", 200, 200},       {"GET", "/api/v1/reservations", 200, 200},
        {"GET", "/api/v1/usage?from=2026-12-01", 200, 200}, {"HEAD", "/api/v1/budgets", 200, 200},
        {"GET", "/api/v1/accounts", 403, 200},      {"GET", "/api/v1/instances", 403, 200},
        {"GET", "/metrics", 403, 200},              {"POST", "/api/v1/reload", 403, 200},
        {"POST", "/api/v1/accounts/a1/reset", 403, 200}, {"DELETE", "/api/v1/budgets", 403, 405},
        {"GET", "/api/v1/nothing", 404, 404},
    };
    for (const auto& r : table) {
        INFO(r.method << " " << r.target);
        const auto as_viewer = routes.handle(r.method, r.target, "Bearer v1ew");
        CHECK(as_viewer.status == r.viewer);
        CHECK(as_viewer.caller == "growth-lead");
        if (as_viewer.status == 403) CHECK(as_viewer.body.find("\"forbidden\"") != std::string::npos);
        CHECK(routes.handle(r.method, r.target, "Bearer t0ken").status == r.admin);
    }
    CHECK(reloads == 1);  // the admin's reload only
    CHECK(routes.handle("GET", "/api/v1/budgets", "Bearer v1ew").body == "{\"team\":\"growth\"}\n");
    CHECK(routes.handle("GET", "/api/v1/usage?group_by=day", "Bearer v1ew").body == "group_by=day|growth");
    CHECK(routes.handle("GET", "/api/v1/budgets", "Bearer t0ken").body == "{\"team\":\"*\"}\n");
    CHECK(routes.handle("GET", "/api/v1/token", "Bearer v1ew").body == "{\"name\":\"growth-lead\",\"role\":\"viewer\",\"team\":\"growth\"}\n");
    CHECK(routes.handle("GET", "/api/v1/token", "Bearer t0ken").body == "{\"name\":\"admin\",\"role\":\"admin\",\"team\":null}\n");
    CHECK(routes.handle("GET", "/api/v1/token", "Bearer nope").status == 401);
}

TEST_CASE("a reload that fails reports the errors", "[admin]") {
    admin_hooks h;
    h.authenticate = [](std::string_view t) -> std::optional<admin_caller> {
        if (same_token(t, "t")) return admin_caller{"admin", std::nullopt};
        return std::nullopt;
    };
    h.reload = [] { return std::vector<std::string>{"cfg.json: budgets[0].limit: is required"}; };
    admin_routes routes(h);
    const auto r = routes.handle("POST", "/api/v1/reload", "Bearer t");
    CHECK(r.status == 400);
    CHECK(r.body.find("budgets[0].limit") != std::string::npos);
}

TEST_CASE("the page's files: content types, ETags, gzip only when it pays", "[admin]") {
    const page_asset* index = find_page_asset("/");
    REQUIRE(index != nullptr);
    CHECK(index == find_page_asset("/index.html"));
    CHECK(index->content_type == "text/html; charset=utf-8");
    CHECK(index->etag.size() == 18);  // 16 hex digits, quoted
    CHECK(index->body.find("<!doctype html>") == 0);
    const page_asset* js = find_page_asset("/page.js");
    REQUIRE(js != nullptr);
    CHECK(js->content_type == "text/javascript; charset=utf-8");
    CHECK(js->etag != index->etag);
    CHECK(find_page_asset("/page.css")->content_type == "text/css; charset=utf-8");
    CHECK(find_page_asset("/../etc/passwd") == nullptr);
    CHECK(find_page_asset("/index.html.bak") == nullptr);
}

TEST_CASE("Accept-Encoding: gzip unless refused", "[admin]") {
    const std::pair<const char*, bool> table[] = {
        {"gzip", true}, {"gzip, deflate, br", true}, {"br, GZIP;q=0.5", true}, {"*", true},
        {"", false},    {"deflate", false},          {"gzip;q=0", false},      {"gzip; q=0.000", false},
        {"x-gzip2", false}, {"identity", false},
    };
    for (const auto& [value, expected] : table) {
        INFO(value);
        CHECK(accepts_gzip(value) == expected);
    }
}
