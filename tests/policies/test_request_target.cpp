#include "policies/request_target.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

TEST_CASE("absolute-form targets", "[target]") {
    struct row { const char* in; bool https; const char* host; unsigned port; bool explicit_port; const char* origin; bool ip; };
    const row rows[] = {
        {"http://api.example.com/v1/x?a=1", false, "api.example.com", 80, false, "/v1/x?a=1", false},
        {"http://API.Example.COM./", false, "api.example.com", 80, false, "/", false},
        {"http://api.example.com", false, "api.example.com", 80, false, "/", false},
        {"http://api.example.com?q=1", false, "api.example.com", 80, false, "/?q=1", false},
        {"HTTPS://api.example.com:8443/p", true, "api.example.com", 8443, true, "/p", false},
        {"http://127.0.0.1:8080/x", false, "127.0.0.1", 8080, true, "/x", true},
        {"http://[::1]:81/x", false, "::1", 81, true, "/x", true},
        {"http://[0:0:0:0:0:0:0:1]/", false, "::1", 80, false, "/", true},
        {"http://a.com/p#frag", false, "a.com", 80, false, "/p", false},
    };
    for (const auto& r : rows) {
        INFO(r.in);
        auto t = parse_absolute_target(r.in);
        REQUIRE(t);
        CHECK(t->https == r.https);
        CHECK(t->where.host == r.host);
        CHECK(t->where.port == r.port);
        CHECK(t->explicit_port == r.explicit_port);
        CHECK(t->origin_form == r.origin);
        CHECK(t->where.is_ip_literal == r.ip);
    }
}

TEST_CASE("targets that are refused", "[target]") {
    for (const char* in : {"/origin/form", "*", "ftp://a.com/", "http://user:pw@a.com/", "http://a.com:0/",
                           "http://a.com:99999/", "http://a.com:x/", "http:///path", "http://a..com/", "http://[::1/",
                           "http://a b.com/", "http://a.com:/"}) {
        INFO(in);
        CHECK_FALSE(parse_absolute_target(in));
    }
}

TEST_CASE("CONNECT authorities", "[target]") {
    auto a = parse_connect_target("Api.Example.com:443");
    REQUIRE(a);
    CHECK(a->host == "api.example.com");
    CHECK(a->port == 443);
    CHECK(a->to_string() == "api.example.com:443");
    auto v6 = parse_connect_target("[2001:db8::1]:443");
    REQUIRE(v6);
    CHECK(v6->is_ip_literal);
    CHECK(v6->to_string() == "[2001:db8::1]:443");
    CHECK_FALSE(parse_connect_target("api.example.com"));  // the port is required
    CHECK_FALSE(parse_connect_target("api.example.com:0"));
}

TEST_CASE("paths never carry the query", "[target]") {
    CHECK(path_without_query("/a/b?api_key=secret") == "/a/b");
    CHECK(path_without_query("/") == "/");
}
