// Hostile input to pricing and settlement (issue 16): amounts at and past SPEC §1's range,
// bodies the proxy cannot read the way a vendor would, and answers it could not inspect.
#include "policies/cost_model.hpp"
#include "policies/settlement.hpp"
#include "profile_fixture.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace creditgate::policies;

namespace {

money m(const char* text) { return *money::parse(text); }

// Prices a request as the proxy does: the body through parse_priced_body.
cost_estimate price(const vendor_profile& p, const char* method, const char* path, const char* query,
                    std::optional<std::string> body = std::nullopt) {
    const auto params = parse_query(query);
    json parsed;
    const bool ok = body && parse_priced_body(*body, parsed);
    request_facts facts{method, path, &params, ok ? &parsed : nullptr, body && !ok};
    return estimate_cost(p, facts);
}

settlement settle_with(const vendor_profile& p, money estimate, unsigned status, std::map<std::string, std::string> headers,
                       const std::string& body, bool complete = true) {
    json parsed = json::parse(body, nullptr, false);
    response_facts facts;
    facts.status = status;
    facts.header = [headers](std::string_view name) -> std::optional<std::string_view> {
        for (const auto& [k, v] : headers)
            if (k.size() == name.size() &&
                std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) { return std::tolower(a) == std::tolower(b); }))
                return std::string_view(v);
        return std::nullopt;
    };
    facts.body = body;
    facts.body_json = parsed.is_discarded() || !complete ? nullptr : &parsed;
    facts.body_complete = complete;
    return settle_cost(p, estimate, facts, {});
}

}  // namespace

TEST_CASE("a client's max_cost outside the range is refused, not reserved", "[cost][hostile]") {
    const auto p = load_profile("scraperapi");
    struct row { const char* query; std::optional<refusal_code> error; const char* amount; };
    const row rows[] = {
        {"url=https://example.com/&max_cost=9223372036854.775807", refusal_code::bad_request, nullptr},  // bug 1 of issue 16
        {"url=https://example.com/&max_cost=1000000000000.000001", refusal_code::bad_request, nullptr},
        {"url=https://example.com/&max_cost=1e40", refusal_code::bad_request, nullptr},
        {"url=https://example.com/&max_cost=1000000000000", std::nullopt, "1000000000000"},
        {"url=https://example.com/&max_cost=50", std::nullopt, "50"},
        {"url=https://example.com/&max_cost=-5", std::nullopt, "1"},   // no cap the vendor honours: the rules
        {"url=https://example.com/&max_cost=abc", std::nullopt, "1"},
    };
    for (const auto& r : rows) {
        INFO(r.query);
        const auto e = price(p, "GET", "/", r.query);
        CHECK(e.error == r.error);
        if (r.amount) CHECK(e.amount == m(r.amount));
        else CHECK_FALSE(e.message.empty());
    }
}

TEST_CASE("per_param values must be non-negative amounts in range", "[cost][hostile]") {
    const auto p = load_profile("crustdata");
    struct row { const char* query; const char* body; std::optional<refusal_code> error; const char* amount; };
    const row rows[] = {
        {"limit=3.07e14", nullptr, refusal_code::bad_request, nullptr},  // was priced at the default 25
        {"limit=-5", nullptr, refusal_code::bad_request, nullptr},
        {"limit=abc", nullptr, refusal_code::bad_request, nullptr},
        {"limit=1e13", nullptr, refusal_code::bad_request, nullptr},
        {"limit=1000000000000", nullptr, std::nullopt, "30000000000"},
        {"limit=10", nullptr, std::nullopt, "0.3"},
        {"", R"({"limit": 3.07e14})", refusal_code::bad_request, nullptr},
        {"", R"({"limit": -1})", refusal_code::bad_request, nullptr},
        {"", R"({"limit": "many"})", refusal_code::bad_request, nullptr},
        {"", R"({"limit": null})", std::nullopt, "0.75"},  // absent: the default
        {"", R"({"limit": 100})", std::nullopt, "3"},
    };
    for (const auto& r : rows) {
        INFO(r.query << " " << (r.body ? r.body : ""));
        const auto e = price(p, r.body ? "POST" : "GET", "/person/search", r.query,
                             r.body ? std::optional<std::string>(r.body) : std::nullopt);
        CHECK(e.error == r.error);
        if (r.amount) CHECK(e.amount == m(r.amount));
    }
}

TEST_CASE("bodies the proxy cannot read as the vendor would are unpriceable", "[cost][hostile]") {
    const auto p = load_profile("helius");
    // Each of these once fell back to an estimate of 1; a lenient vendor parser bills 10 to 1000.
    const char* unreadable[] = {
        R"({"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":[1e400]})",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"getProgramAccounts\",\"params\":[\"\\ud800\"]}",
        R"({"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":[NaN]})",
        R"({"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":[Infinity]})",
        R"([{"method":"getBalance","method":"getTransactionsForAddress"}])",  // which method wins is the vendor's call
        R"({"method":"getProgramAccounts"} trailing)",
        "",
    };
    for (const char* body : unreadable) {
        INFO(body);
        const auto e = price(p, "POST", "/", "api-key=k", std::string(body));
        CHECK(e.error == refusal_code::unpriceable_request);
    }
    std::string deep(200, '[');
    deep += std::string(200, ']');
    CHECK(price(p, "POST", "/", "", deep).error == refusal_code::unpriceable_request);
    // Fine bodies still price, and a vendor that prices no body ignores it.
    CHECK(price(p, "POST", "/", "", std::string(R"({"method":"getProgramAccounts","params":[1e300]})")).amount == m("10"));
    const auto scraperapi = load_profile("scraperapi");
    CHECK(price(scraperapi, "POST", "/", "url=https://example.com/", std::string("not json")).ok());
}

TEST_CASE("a JSON-RPC batch is never cheaper than its calls", "[cost][hostile]") {
    const auto p = load_profile("helius");
    struct row { const char* body; const char* cost; };
    const row rows[] = {
        {R"([{"method":"getProgramAccounts"},1,"x",null,{"id":3}])", "14"},  // malformed entries: the default each
        {R"([])", "1"},
        {R"([{"method":5},{"method":"getBlock"}])", "11"},
        {R"({"method":"getProgramAccounts"})", "10"},
    };
    for (const auto& r : rows) {
        INFO(r.body);
        CHECK(price(p, "POST", "/", "", std::string(r.body)).amount == m(r.cost));
    }
}

TEST_CASE("vendor amounts outside the range are not valid", "[cost][hostile]") {
    const auto p = load_profile("scraperapi");
    struct row { const char* header; settlement_basis basis; const char* actual; };
    const row rows[] = {
        {"9223372036854", settlement_basis::estimate, "1"},  // bug 2 of issue 16: wrapped a budget
        {"1000000000000.000001", settlement_basis::estimate, "1"},
        {"1e13", settlement_basis::estimate, "1"},
        {"1000000000000", settlement_basis::cost_header, "1000000000000"},
        {"  10\t", settlement_basis::cost_header, "10"},
        {"-1", settlement_basis::estimate, "1"},
        {"ten", settlement_basis::estimate, "1"},
    };
    for (const auto& r : rows) {
        INFO(r.header);
        const auto s = settle_with(p, m("1"), 200, {{"sa-credit-cost", r.header}}, "<html>");
        CHECK(s.basis == r.basis);
        CHECK(s.actual == m(r.actual));
    }
    const auto neuji = load_profile("neuji");
    const auto s = settle_with(neuji, m("2"), 200, {{"X-Credits-Balance", "9223372036854"}}, "{}");
    CHECK_FALSE(s.balance_reading.has_value());
}

TEST_CASE("a body that could not be inspected settles at the estimate, never at 0", "[cost][hostile]") {
    const auto multicart = load_profile("multicart");
    // Cut at the inspection limit, or undecodable: neither a failed success flag nor a count.
    const auto cut = settle_with(multicart, m("1"), 200, {}, R"({"code":200,"data":[{"id":1},{"id")", false);
    CHECK(cut.basis == settlement_basis::estimate);
    CHECK(cut.actual == m("1"));
    // Read whole, it still settles by what it says.
    CHECK(settle_with(multicart, m("1"), 200, {}, R"({"code":200,"data":{"x":1},"status":0})").actual == money{});
    const auto crustdata = load_profile("crustdata");
    const auto big = settle_with(crustdata, m("0.75"), 200, {}, R"({"profiles":[{},{})", false);
    CHECK(big.basis == settlement_basis::estimate);
    CHECK(big.actual == m("0.75"));
    // A count from the body that would overflow is not believed either.
    const auto huge = settle_with(crustdata, m("0.75"), 200, {}, R"({"profiles": 1e30})");
    CHECK(huge.basis == settlement_basis::estimate);
}
