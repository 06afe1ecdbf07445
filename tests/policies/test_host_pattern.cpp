#include "policies/host_pattern.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

TEST_CASE("host globs match whole labels", "[host]") {
    struct row { const char* pattern; const char* host; bool match; };
    const row rows[] = {
        {"api.example.com", "api.example.com", true}, {"api.example.com", "www.example.com", false},
        {"*.amazon.com", "www.amazon.com", true},     {"*.amazon.com", "a.b.amazon.com", true},
        {"*.amazon.com", "amazon.com", false},        {"*.amazon.com", "notamazon.com", false},
        {"amazon.*", "amazon.com", true},             {"amazon.*", "amazon.co.uk", true},
        {"amazon.*", "amazon", false},                {"amazon.*", "www.amazon.com", false},
        {"*", "localhost", true},                     {"a.*.c", "a.b.c", true},
        {"a.*.c", "a.c", false},                      {"a.*.c", "a.x.y.c", true},
    };
    for (const auto& r : rows) {
        INFO(r.pattern << " ~ " << r.host);
        CHECK(host_matches(r.pattern, r.host) == r.match);
    }
}

TEST_CASE("hosts are normalised before comparison", "[host]") {
    CHECK(normalize_host("API.Example.COM.") == "api.example.com");
    CHECK(normalize_host("x") == "x");
    CHECK(is_valid_host_pattern("*.example.com"));
    CHECK(is_valid_host_pattern("api_v2.example.com"));
    CHECK_FALSE(is_valid_host_pattern("a..b"));
    CHECK_FALSE(is_valid_host_pattern("exa mple.com"));
    CHECK_FALSE(is_valid_host_pattern(""));
}
