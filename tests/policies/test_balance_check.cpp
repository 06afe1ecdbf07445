#include "policies/balance_check.hpp"
#include "profile_fixture.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

namespace {
money m(const char* text) { return *money::parse(text); }
}  // namespace

TEST_CASE("balance requests of the launch vendors, with the key where each profile takes it", "[balance]") {
    struct row {
        const char* vendor;
        std::map<std::string, std::string> params;
        const char* method;
        const char* host;
        const char* target;
        const char* header;  // name of the header carrying the key, or ""
        bool has_body;
    };
    const std::vector<row> table{
        {"scraperapi", {}, "GET", "api.scraperapi.com", "/account?api_key=K%2B1", "", false},
        {"multicart", {}, "POST", "multicartapi.com", "/api/v1/users/credits/", "x-api-key", true},
        {"crustdata", {}, "GET", "api.crustdata.com", "/user/credits", "Authorization", false},
        {"helius", {{"project_id", "a1b2"}}, "GET", "admin-api.helius.xyz", "/v0/admin/projects/a1b2/usage?api-key=K%2B1", "", false},
        {"neuji", {}, "GET", "api.neuji.com", "/v1/usage", "Authorization", false},
    };
    for (const auto& t : table) {
        INFO(t.vendor);
        std::string error;
        auto r = make_balance_request(load_profile(t.vendor), "K+1", t.params, error);
        REQUIRE(r);
        CHECK(r->method == t.method);
        CHECK(r->host == t.host);
        CHECK(r->target == t.target);
        CHECK(r->header.has_value() == (std::string(t.header) != ""));
        if (r->header) CHECK(r->header->first == t.header);
        CHECK(r->body.has_value() == t.has_body);
        CHECK(r->described.find("K+1") == std::string::npos);  // never the key
        CHECK(r->described.find("K%2B1") == std::string::npos);
    }
    std::string error;
    CHECK_FALSE(make_balance_request(load_profile("helius"), "K", {}, error));
    CHECK_THAT(error, Catch::Contains("params.project_id"));
}

TEST_CASE("remaining balances read exactly from each launch vendor's answer", "[balance]") {
    struct row {
        const char* vendor;
        const char* body;
        const char* remaining;
    };
    const std::vector<row> table{
        {"scraperapi", R"({"burst":0,"concurrencyLimit":20,"concurrentRequests":3,"failedRequestCount":12,"requestCount":4021,"requestLimit":100000})", "95979"},
        {"multicart", R"({"code":200,"data":{"id":5,"user":42,"available_credits":10000,"used_credits":342,"frozen_credits":8,"period_end":null},"status":1})", "9650"},
        {"multicart", R"({"code":200,"data":{"available_credits":10,"used_credits":2,"frozen_credits":null},"status":1})", "8"},
        {"crustdata", R"({"credits": 9406.37})", "9406.37"},
        {"helius", R"({"creditsRemaining": 812345, "creditsUsed": 187655, "subscriptionDetails": {"creditsLimit": 1000000}})", "812345"},
        {"neuji", R"({"period_start":"2026-06-01T00:00:00Z","credits":{"balance_cents":4250,"balance":42.50,"currency":"USD"}})", "4250"},
    };
    for (const auto& t : table) {
        INFO(t.vendor << " " << t.body);
        const auto profile = load_profile(t.vendor);
        auto a = read_balance(*profile.balance, 200, t.body);
        INFO(a.error);
        REQUIRE(a.remaining);
        CHECK(*a.remaining == m(t.remaining));
    }
}

TEST_CASE("a balance answer that cannot be read says why", "[balance]") {
    const auto crustdata = *load_profile("crustdata").balance;
    const auto multicart = *load_profile("multicart").balance;
    struct row {
        const balance_spec* spec;
        unsigned status;
        const char* body;
        const char* says;
    };
    const std::vector<row> table{
        {&crustdata, 500, R"({"credits": 1})", "answered 500"},
        {&crustdata, 200, "<html>oops</html>", "not JSON"},
        {&crustdata, 200, R"({"credits": "lots"})", "not an amount"},
        {&crustdata, 200, R"({"balance": 1})", "no number at /credits"},
        {&crustdata, 200, R"({"credits": "${HOME}"})", "not an amount"},  // data is never expanded
        {&multicart, 200, R"({"code":401,"data":"Invalid API key","status":0})", "no number"},
    };
    for (const auto& t : table) {
        INFO(t.body);
        auto a = read_balance(*t.spec, t.status, t.body);
        CHECK_FALSE(a.remaining);
        CHECK_THAT(a.error, Catch::Contains(t.says));
    }
}
