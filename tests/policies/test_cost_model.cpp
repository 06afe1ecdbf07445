#include "policies/cost_model.hpp"
#include "policies/settlement.hpp"
#include "profile_fixture.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace creditgate::policies;

namespace {

money m(const char* text) { return *money::parse(text); }

money estimate(const vendor_profile& p, const char* method, const char* path, const char* query,
               const char* body = nullptr) {
    const auto params = parse_query(query);
    json parsed;
    if (body) parsed = json::parse(body);
    request_facts facts{method, path, &params, body ? &parsed : nullptr};
    return estimate_cost(p, facts).amount;
}

struct fake_response {
    unsigned status = 200;
    std::map<std::string, std::string> headers;  // lower-case names
    std::string body;
};

settlement settle(const vendor_profile& p, money est, const fake_response& r, balance_context ctx = {}) {
    json parsed = json::parse(r.body, nullptr, false);
    response_facts facts;
    facts.status = r.status;
    facts.header = [&](std::string_view name) -> std::optional<std::string_view> {
        std::string key(name);
        for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        auto it = r.headers.find(key);
        if (it == r.headers.end()) return std::nullopt;
        return std::string_view(it->second);
    };
    facts.body = r.body;
    facts.body_json = parsed.is_discarded() ? nullptr : &parsed;
    return settle_cost(p, est, facts, ctx);
}

}  // namespace

TEST_CASE("query strings decode", "[cost]") {
    const auto q = parse_query("api_key=abc&url=https%3A%2F%2Fwww.amazon.com%2Fdp%2FX&render=true&x=a+b&flag");
    REQUIRE(q.size() == 5);
    CHECK(*find_param(q, "url") == "https://www.amazon.com/dp/X");
    CHECK(*find_param(q, "x") == "a b");
    CHECK(find_param(q, "flag")->empty());
    CHECK(find_param(q, "nope") == nullptr);
}

TEST_CASE("ScraperAPI estimates by domain with stacking add-ons", "[cost][scraperapi]") {
    const auto p = load_profile("scraperapi");
    struct row { const char* query; const char* cost; };
    const row rows[] = {
        {"url=https://example.com/", "1"},
        {"url=https://www.amazon.com/dp/B0", "5"},
        {"url=https://amazon.co.uk/x", "5"},
        {"url=https://www.google.com/search?q=x", "25"},
        {"url=https://bing.com/search", "25"},
        {"url=https://www.linkedin.com/in/x", "30"},
        {"url=https://example.com/&render=true", "11"},
        {"url=https://www.amazon.com/&render=true&premium=true", "25"},
        {"url=https://www.google.com/&ultra_premium=true", "55"},
        {"url=https://example.com/&render=TRUE&screenshot=true", "21"},
        {"url=https://notamazon.com/", "1"},
        {"url=https://example.com/&render=true&max_cost=3", "3"},  // the client's cap is the reservation
    };
    for (const auto& r : rows) {
        INFO(r.query);
        CHECK(estimate(p, "GET", "/", r.query) == m(r.cost));
    }
    CHECK(estimate(p, "GET", "/account", "api_key=k") == money{});
}

TEST_CASE("ScraperAPI settles from sa-credit-cost and its 403", "[cost][scraperapi]") {
    const auto p = load_profile("scraperapi");
    auto s = settle(p, m("5"), {200, {{"sa-credit-cost", "10"}}, "<html>"});
    CHECK(s.actual == m("10"));
    CHECK(s.basis == settlement_basis::cost_header);
    s = settle(p, m("5"), {404, {}, "not found"});
    CHECK(s.actual == m("5"));  // charged for 404, at the estimate without a header
    s = settle(p, m("5"), {500, {}, "failed after retries"});
    CHECK(s.actual == money{});
    s = settle(p, m("5"), {403, {}, "You have used up all your API credits"});
    CHECK(s.out_of_credit);
    CHECK(s.actual == money{});
    s = settle(p, m("5"), {403, {}, "would cost more than your max_cost"});
    CHECK_FALSE(s.out_of_credit);
    CHECK(s.actual == money{});
    s = settle(p, m("5"), {200, {{"sa-credit-cost", "-1"}}, ""});  // invalid header: not rule 2
    CHECK(s.basis == settlement_basis::estimate);
}

TEST_CASE("MultiCart reads its 200 envelope", "[cost][multicart]") {
    const auto p = load_profile("multicart");
    CHECK(estimate(p, "POST", "/api/v1/products", "") == m("1"));
    CHECK(estimate(p, "POST", "/api/v1/users/credits/", "") == money{});
    auto s = settle(p, m("1"), {200, {}, R"({"code":402,"data":"Not enough credits","status":0})"});
    CHECK(s.out_of_credit);
    s = settle(p, m("1"), {200, {}, R"({"code":404,"data":"not found","status":0})"});
    CHECK(s.basis == settlement_basis::unsuccessful);
    CHECK(s.actual == money{});
    s = settle(p, m("1"), {200, {}, R"({"code":200,"data":[{"id":1},{"id":2},{"id":3}],"status":1})"});
    CHECK(s.actual == m("3"));
    CHECK(s.basis == settlement_basis::body);
    s = settle(p, m("1"), {200, {}, R"({"code":200,"data":{"id":1},"status":1})"});
    CHECK(s.actual == m("1"));
    CHECK(s.basis == settlement_basis::estimate);
}

TEST_CASE("Crustdata reserves the most a page costs and settles per result", "[cost][crustdata]") {
    const auto p = load_profile("crustdata");
    CHECK(estimate(p, "GET", "/person/search", "") == m("0.75"));
    CHECK(estimate(p, "GET", "/person/search", "limit=10") == m("0.3"));
    CHECK(estimate(p, "POST", "/person/search", "", R"({"filters": [], "limit": 100})") == m("3"));
    CHECK(estimate(p, "GET", "/person/enrich", "") == m("7"));
    CHECK(estimate(p, "GET", "/company/enrich", "") == m("2"));
    CHECK(estimate(p, "GET", "/company/identify", "") == money{});
    CHECK(estimate(p, "GET", "/user/credits", "") == money{});
    auto s = settle(p, m("0.75"), {200, {}, R"({"profiles":[{},{},{},{}]})"});
    CHECK(s.actual == m("0.12"));
    s = settle(p, m("0.75"), {402, {}, R"({"error":{"type":"insufficient_credits","message":"no"}})"});
    CHECK(s.out_of_credit);
    s = settle(p, m("0.75"), {429, {}, "rate limited"});
    CHECK(s.actual == money{});
}

TEST_CASE("Helius prices JSON-RPC per method and sums batches", "[cost][helius]") {
    const auto p = load_profile("helius");
    CHECK(estimate(p, "POST", "/", "api-key=k", R"({"jsonrpc":"2.0","id":1,"method":"getBalance","params":[]})") == m("1"));
    CHECK(estimate(p, "POST", "/", "", R"({"jsonrpc":"2.0","id":1,"method":"getProgramAccounts"})") == m("10"));
    CHECK(estimate(p, "POST", "/", "", R"({"jsonrpc":"2.0","id":1,"method":"getTransactionsForAddress"})") == m("100"));
    CHECK(estimate(p, "POST", "/", "", R"([{"method":"getBalance"},{"method":"getAsset"},{"method":"getBlock"},{"method":"getSlot"}])") == m("22"));
    CHECK(estimate(p, "POST", "/v0/transactions", "") == m("100"));
    auto s = settle(p, m("10"), {429, {}, "max usage reached"});
    CHECK(s.out_of_credit);
    s = settle(p, m("10"), {200, {}, R"({"jsonrpc":"2.0","id":1,"error":{"code":-32429,"message":"credits"}})"});
    CHECK(s.out_of_credit);
    s = settle(p, m("10"), {200, {}, R"({"jsonrpc":"2.0","id":1,"result":5})"});
    CHECK(s.actual == m("10"));
    s = settle(p, m("10"), {429, {}, "rate limited"});
    CHECK_FALSE(s.out_of_credit);
    CHECK(s.actual == money{});
}

TEST_CASE("Neuji settles by the drop of its balance header when alone", "[cost][neuji]") {
    const auto p = load_profile("neuji");
    CHECK(estimate(p, "POST", "/v1/search", "") == m("2"));
    const fake_response answer{200, {{"x-credits-balance", "4244"}}, "{}"};
    auto s = settle(p, m("2"), answer, {m("4250"), true});
    CHECK(s.actual == m("6"));  // fanned out into 3 units
    CHECK(s.basis == settlement_basis::balance_delta);
    CHECK(*s.balance_reading == m("4244"));
    s = settle(p, m("2"), answer, {m("4250"), false});  // another call was in flight: the estimate
    CHECK(s.actual == m("2"));
    s = settle(p, m("2"), answer, {m("5000"), true});  // a drop over 10 × the estimate is not ours
    CHECK(s.actual == m("2"));
    s = settle(p, m("2"), answer, {m("4000"), true});  // a top-up: the estimate
    CHECK(s.actual == m("2"));
    s = settle(p, m("2"), {402, {{"x-credits-balance", "0"}}, R"({"error":{"type":"insufficient_credits"}})"}, {m("1"), true});
    CHECK(s.out_of_credit);
    CHECK(*s.balance_reading == money{});
}

TEST_CASE("API keys are found where the profile says", "[cost]") {
    const auto helius = load_profile("helius");
    std::map<std::string, std::string> headers{{"X-Api-Key", "from-header"}};
    header_lookup lookup = [&](std::string_view n) -> std::optional<std::string_view> {
        for (auto& [k, v] : headers)
            if (k.size() == n.size() && std::equal(k.begin(), k.end(), n.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
                return std::string_view(v);
        return std::nullopt;
    };
    CHECK(*find_api_key(helius, parse_query("api-key=from-query"), lookup) == "from-query");
    CHECK(*find_api_key(helius, parse_query(""), lookup) == "from-header");
    const auto neuji = load_profile("neuji");
    headers = {{"Authorization", "Bearer tok"}};
    CHECK(*find_api_key(neuji, parse_query(""), lookup) == "tok");
    headers = {};
    CHECK_FALSE(find_api_key(neuji, parse_query(""), lookup));
}
