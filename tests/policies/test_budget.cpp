#include "policies/budget.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

namespace {

std::optional<budget_def> parse(const char* text, issue_list& issues) {
    const json doc = parse_json_document(text, [](std::string_view) { return std::nullopt; }, issues);
    return read_budget(doc, "budgets[0]", issues);
}

}  // namespace

TEST_CASE("budget kinds", "[budget]") {
    issue_list issues;
    auto credits = parse(R"({"id": "a", "scope": {"team": "g"}, "vendor": "scraperapi", "limit": 100000,
                             "period": "month", "soft_limit": 0.8})", issues);
    REQUIRE(credits);
    CHECK(credits->kind == budget_kind::credits);
    CHECK(credits->limit == money::units(100000));
    CHECK(credits->soft_limit->micros() == 800'000);
    CHECK(credits->period.every == period_unit::month);

    auto usd = parse(R"({"id": "b", "scope": {"client": "c"}, "vendor": "*", "unit": "usd", "limit": "25.00",
                         "period": "day", "on_exceed": "queue", "queue_timeout_ms": 30000})", issues);
    REQUIRE(usd);
    CHECK(usd->kind == budget_kind::money);
    CHECK(usd->on_exceed == exceed_action::queue);

    auto conc = parse(R"({"id": "c", "vendor": "x", "max_concurrent": 5})", issues);
    REQUIRE(conc);
    CHECK(conc->kind == budget_kind::concurrency);

    auto rate = parse(R"({"id": "d", "vendor": "x", "rate": "300/min"})", issues);
    REQUIRE(rate);
    CHECK(rate->kind == budget_kind::rate);
    CHECK(rate->rate.tokens == 300);
    CHECK(rate->rate.per_seconds == 60);

    auto cycle = parse(R"({"id": "e", "vendor": "x", "limit": 5, "period": {"every": "month", "anchor": "2026-11-15"}})", issues);
    REQUIRE(cycle);
    CHECK(cycle->period.anchor == civil_date{2026, 11, 15});
    CHECK(issues.empty());
}

TEST_CASE("budget errors name their path", "[budget]") {
    struct row { const char* text; const char* path; };
    const row rows[] = {
        {R"({"id": "a", "vendor": "x"})", "budgets[0].limit"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "rate": "1/s"})", "budgets[0].limit"},
        {R"({"id": "a", "vendor": "*", "limit": 1})", "budgets[0].unit"},
        {R"({"id": "a", "vendor": "x", "limit": -1})", "budgets[0].limit"},
        {R"({"id": "a", "vendor": "x", "rate": "5/fortnight"})", "budgets[0].rate"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "period": "year"})", "budgets[0].period"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "period": {"every": "day", "anchor": "2026-02-30"}})", "budgets[0].period.anchor"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "on_exceed": "pray"})", "budgets[0].on_exceed"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "mode": "loud"})", "budgets[0].mode"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "soft_limit": 1.5})", "budgets[0].soft_limit"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "scope": {"team": "t", "client": "c"}})", "budgets[0].scope"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "scope": {"tem": "t"}})", "budgets[0].scope.tem"},
        {R"({"id": "a", "vendor": "x", "limit": 1, "colour": "red"})", "budgets[0].colour"},
        {R"({"vendor": "x", "limit": 1})", "budgets[0].id"},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        issue_list issues;
        CHECK_FALSE(parse(r.text, issues));
        bool found = false;
        for (const auto& i : issues.items()) found = found || i.path == r.path;
        CHECK(found);
    }
}

TEST_CASE("calendar dates", "[period]") {
    CHECK(parse_civil_date("2024-02-29"));
    CHECK_FALSE(parse_civil_date("2023-02-29"));
    CHECK_FALSE(parse_civil_date("2026-13-01"));
    CHECK_FALSE(parse_civil_date("2026-1-01"));
    CHECK(to_string(*parse_civil_date("2026-11-05")) == "2026-11-05");
    CHECK(days_in_month(2100, 2) == 28);
    CHECK(days_in_month(2000, 2) == 29);
}
