// estimate_job (SPEC §12): every shipped profile priced as admission would, JSON-RPC batches,
// a per-result vendor, totals per vendor in credits and dollars, and budgets' fits / short_by /
// fits_at against what the ledger says they used. Nothing here dials anything.
#include "policies/estimate.hpp"
#include "policies/json_amount.hpp"
#include "profile_fixture.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

namespace {

money m(const char* t) { return *money::parse(t); }

// The ledger as a table: ZenRows has spent 95 this month; nothing else has.
class fixed_store final : public ledger_store {
public:
    void append(call_row) override {}
    bool healthy() const override { return true; }
    bool flush() override { return true; }
    bool persistent() const override { return true; }
    std::optional<money> used(const budget_usage_query& q) override { return q.vendor == "zenrows" ? m("95") : money{}; }
    std::optional<std::vector<usage_row>> usage(const usage_query&) override { return std::vector<usage_row>{}; }
    std::optional<bool> remember_alert(const std::string&, unix_seconds) override { return true; }
};

budget_def budget(const char* id, const char* vendor, const char* limit, budget_scope scope = {}, const char* unit = "") {
    budget_def b;
    b.id = id;
    b.kind = std::string(unit) == "usd" ? budget_kind::money : budget_kind::credits;
    b.vendor = vendor;
    b.unit = unit;
    b.scope = std::move(scope);
    b.limit = m(limit);
    b.period.every = period_unit::month;
    return b;
}

struct fixture {
    std::vector<vendor_profile> vendors;
    std::unique_ptr<metering> books;
    std::unique_ptr<vendor_routes> routes;
    fixture() {
        for (const char* name : {"scraperapi", "multicart", "crustdata", "helius", "neuji", "scrapingbee", "zenrows"})
            vendors.push_back(load_profile(name));
        budget_scope growth;
        growth.team = "growth";
        std::vector<budget_def> budgets{budget("sa-growth", "scraperapi", "100", growth), budget("sa-usd", "scraperapi", "0.01", {}, "usd"),
                                        budget("helius", "helius", "30"), budget("crust", "crustdata", "10"),
                                        budget("zen", "zenrows", "100")};
        books = std::make_unique<metering>(budgets, vendors, std::vector<account_binding>{{"sa-main", "scraperapi", "SAKEY", false}}, 100,
                                           std::make_shared<fixed_store>());
        std::string error;
        REQUIRE(books->recompute_used(error));
        routes = std::make_unique<vendor_routes>(vendors, std::vector<std::string>{});
    }
};

}  // namespace

TEST_CASE("estimate: one call of each shipped profile, as admission would reserve it", "[estimate]") {
    fixture f;
    struct row {
        const char* what;
        planned_call call;
        const char* vendor;
        const char* estimate;
    };
    const row table[] = {
        {"scraperapi, Amazon rendered", {"GET", "https://api.scraperapi.com/?api_key=K&url=https%3A%2F%2Fwww.amazon.com%2Fdp%2FX&render=true"}, "scraperapi", "15"},
        {"scraperapi, a plain page", {"GET", "https://api.scraperapi.com/?api_key=K&url=https://example.com/"}, "scraperapi", "1"},
        {"multicart", {"POST", "https://multicartapi.com/api/v1/products"}, "multicart", "1"},
        {"crustdata, per result: the most a page costs", {"GET", "https://api.crustdata.com/person/search?limit=10"}, "crustdata", "0.3"},
        {"crustdata, a body's limit", {"POST", "https://api.crustdata.com/person/search", {}, R"({"filters": [], "limit": 100})"}, "crustdata", "3"},
        {"helius, one method", {"POST", "https://mainnet.helius-rpc.com/?api-key=K", {}, R"({"jsonrpc":"2.0","id":1,"method":"getProgramAccounts"})"}, "helius", "10"},
        {"helius, a JSON-RPC batch", {"POST", "https://mainnet.helius-rpc.com/?api-key=K", {},
                                      R"([{"method":"getBalance"},{"method":"getAsset"},{"method":"getBlock"},{"method":"getSlot"}])"}, "helius", "22"},
        {"neuji", {"POST", "https://api.neuji.com/v1/search", {{"Authorization", "Bearer K"}}}, "neuji", "2"},
        {"scrapingbee, rendering by default", {"GET", "https://app.scrapingbee.com/api/v1/?api_key=K&url=https://example.com/"}, "scrapingbee", "5"},
        {"scrapingbee, no rendering", {"GET", "https://app.scrapingbee.com/api/v1/?api_key=K&url=x&render_js=false"}, "scrapingbee", "1"},
        {"zenrows, rendering and premium", {"GET", "https://api.zenrows.com/v1/?apikey=K&url=x&js_render=true&premium_proxy=true"}, "zenrows", "25"},
    };
    for (const auto& r : table) {
        INFO(r.what);
        const auto job = estimate_job(*f.books, *f.routes, "eu-1", "growth", {r.call});
        REQUIRE(job.calls.size() == 1);
        INFO(job.calls[0].message);
        REQUIRE_FALSE(job.calls[0].error);
        CHECK(job.calls[0].vendor == r.vendor);
        CHECK(job.calls[0].estimate == m(r.estimate));
    }
}

TEST_CASE("estimate: unknown hosts and unpriceable bodies answer per call; totals and budgets", "[estimate]") {
    fixture f;
    const std::vector<planned_call> calls{
        {"GET", "https://api.scraperapi.com/?api_key=SAKEY&url=https://www.amazon.com/&render=true", {}, std::nullopt, 2},
        {"GET", "https://example.org/not-a-vendor"},
        {"POST", "https://mainnet.helius-rpc.com/?api-key=K", {}, R"({"method": "getBlock", "method": "getSlot"})"},  // duplicate key
        {"POST", "https://mainnet.helius-rpc.com/?api-key=K", {}, R"([{"method":"getBalance"},{"method":"getAsset"},{"method":"getBlock"},{"method":"getSlot"}])", 2},
        {"GET", "https://api.zenrows.com/v1/?apikey=K&url=x&js_render=true&premium_proxy=true"},
        {"GET", "not a url"},
    };
    const auto job = estimate_job(*f.books, *f.routes, "eu-1", "growth", calls);
    REQUIRE(job.calls.size() == 6);
    CHECK(job.calls[0].total == m("30"));
    CHECK(job.calls[1].error == refusal_code::destination_not_allowed);
    CHECK(job.calls[2].error == refusal_code::unpriceable_request);
    CHECK(job.calls[3].total == m("44"));
    CHECK(job.calls[5].error == refusal_code::bad_request);
    REQUIRE(job.totals.size() == 3);  // helius, scraperapi, zenrows
    CHECK(job.totals[1].vendor == "scraperapi");
    CHECK(job.totals[1].credits == m("30"));
    CHECK(job.totals[1].cost_usd == m("0.0147"));
    CHECK_FALSE(job.totals[0].cost_usd);  // Helius has no dollar price
    std::map<std::string, job_budget> budgets;
    for (const auto& b : job.budgets) budgets[b.id] = b;
    REQUIRE(budgets.size() == 4);  // crust: nothing claimed from it
    CHECK((budgets["sa-growth"].fits && budgets["sa-growth"].needed == m("30") && budgets["sa-growth"].short_by == money{}));
    CHECK_FALSE(budgets["sa-growth"].fits_at);
    // Dollars: 30 credits at $0.00049 need $0.0147 of a $0.01 month: short, and no fresh month holds it.
    CHECK_FALSE(budgets["sa-usd"].fits);
    CHECK(budgets["sa-usd"].short_by == m("0.0047"));
    CHECK_FALSE(budgets["sa-usd"].fits_at);
    CHECK(budgets["helius"].short_by == m("14"));
    // ZenRows used 95 of 100: 25 does not fit now, but a fresh month holds it.
    CHECK(budgets["zen"].remaining == m("5"));
    CHECK(budgets["zen"].short_by == m("20"));
    REQUIRE(budgets["zen"].fits_at);
    const auto answer = estimate_json(job);
    CHECK(answer["calls"][1]["error"] == "destination_not_allowed");
    CHECK(dump_exact(answer["totals"][1]["cost_usd"]) == "0.0147");
    // Another client's team: the growth budget does not apply.
    const auto other = estimate_job(*f.books, *f.routes, "us-1", "research", {calls[0]});
    for (const auto& b : other.budgets) CHECK(b.id != "sa-growth");
}

TEST_CASE("estimate: the request's calls are checked field by field", "[estimate]") {
    std::string error;
    CHECK(parse_planned_calls(nlohmann::json::parse(R"([{"url": "https://x/", "count": 3}])"), error));
    const std::pair<const char*, const char*> bad[] = {
        {R"({"url": "x"})", "calls: expected a list"},
        {R"([{"method": "GET"}])", "calls[0].url: is required"},
        {R"([{"url": "https://x/", "count": 0}])", "calls[0].count"},
        {R"([{"url": "https://x/", "colour": 1}])", "calls[0].colour"},
        {R"([{"url": "https://x/", "headers": {"X": 1}}])", "calls[0].headers.X"},
    };
    for (const auto& [text, says] : bad) {
        INFO(text);
        CHECK_FALSE(parse_planned_calls(nlohmann::json::parse(text), error));
        CHECK_THAT(error, Catch::Contains(says));
    }
}
