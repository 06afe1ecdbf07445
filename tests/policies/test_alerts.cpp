// detect_alerts and the alert bodies (SPEC §12): which events the books' state holds, and the
// keys that keep each once per budget (or account) and period.
#include "policies/alerts.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace creditgate::policies;

namespace {

money m(const char* t) { return *money::parse(t); }
constexpr unix_seconds dec1 = 1'796'083'200;  // 2026-12-01T00:00:00Z

budget_def credits_budget(const char* id) {
    budget_def d;
    d.id = id;
    d.kind = budget_kind::credits;
    d.vendor = "scraperapi";
    d.limit = m("100");
    return d;
}

budget_view view_of(const budget_def& d) {
    budget_view v{&d, "credits", d.limit, m("0"), m("0"), d.limit, m("0"), {dec1, dec1 + 31 * 86'400}, 0, 0, false};
    return v;
}

std::vector<std::string> keys(const std::vector<alert_event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.key);
    return out;
}

}  // namespace

TEST_CASE("detect_alerts: each state gives its event, keyed by budget and period", "[alerts]") {
    const unix_seconds now = dec1 + 3600;
    const budget_def quiet = credits_budget("quiet"), soft = credits_budget("soft"), out = credits_budget("out"),
                     soon = credits_budget("soon");
    budget_def slots = credits_budget("slots");
    slots.kind = budget_kind::concurrency;
    std::vector<budget_view> budgets{view_of(quiet), view_of(soft), view_of(out), view_of(soon), view_of(slots)};
    budgets[1].soft_limit_reached = true;
    budgets[1].used = m("85");
    budgets[2].refused = 1;
    budgets[3].forecast_exhausted_at = now + 86'400;
    budgets[4].refused = 3;  // a concurrency budget's refusals are no budget_exhausted event
    account_view fine, dry;
    fine.id = "fine";
    dry.id = "dry";
    dry.exhausted = true;
    dry.exhausted_since = now - 10;
    account_view flaky;
    flaky.id = "flaky";
    flaky.poll_error = "HTTP 500";
    flaky.poll_failures = 2;  // not yet
    account_view broken = flaky;
    broken.id = "broken";
    broken.poll_failures = 3;
    broken.failing_since = now - 30;
    const auto events = detect_alerts(budgets, {fine, dry, flaky, broken}, now);
    CHECK(keys(events) == std::vector<std::string>{"soft_limit|soft|1796083200", "budget_exhausted|out|1796083200",
                                                   "forecast|soon|1796083200", "account_exhausted|dry|1796086790",
                                                   "poll_error|broken|1796086770"});
    // The next month is another period: the same state gives a new key.
    budgets[1].window = {dec1 + 31 * 86'400, dec1 + 62 * 86'400};
    CHECK(detect_alerts({budgets[1]}, {}, now)[0].key == "soft_limit|soft|1798761600");
}

TEST_CASE("alert bodies: JSON fields and Slack text", "[alerts]") {
    const budget_def d = credits_budget("growth-sa");
    budget_view v = view_of(d);
    v.soft_limit_reached = true;
    v.used = m("80.5");
    const auto e = detect_alerts({v}, {}, dec1 + 60)[0];
    const auto body = nlohmann::json::parse(alert_json(e));
    CHECK(body["event"] == "soft_limit");
    CHECK(body["budget"] == "growth-sa");
    CHECK(body["account"].is_null());
    CHECK(body["used"].dump() == "80.5");
    CHECK(body["frozen"] == 0);
    CHECK(body["limit"] == 100);
    CHECK(body["unit"] == "credits");
    CHECK(body["period_end"] == "2027-01-01T00:00:00Z");
    CHECK(body["at"] == "2026-12-01T00:01:00Z");
    const auto slack = nlohmann::json::parse(alert_slack_json(e));
    CHECK(slack.size() == 1);
    CHECK(slack["text"] == "creditgate: budget growth-sa passed its soft limit: 80.5 of 100 credits used (the period ends 2027-01-01T00:00:00Z)");
    v.frozen = m("2");
    CHECK_THAT(alert_text(detect_alerts({v}, {}, dec1 + 60)[0]), Catch::Contains("80.5 (and 2 frozen) of 100 credits used"));
    CHECK(parse_alert_kind("forecast") == alert_kind::forecast);
    CHECK_FALSE(parse_alert_kind("soft-limit"));
}
