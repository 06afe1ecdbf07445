#include "proxy/admin/admin_views.hpp"

#include "policies/cost_model.hpp"
#include "policies/estimate.hpp"
#include "policies/store/usage_report.hpp"

#include <algorithm>
#include <chrono>

namespace creditgate::proxy {
namespace {

using nlohmann::json;
using namespace creditgate::policies;

json scope_json(const budget_scope& s) {
    json out = json::object();
    if (s.team) out["team"] = *s.team;
    if (s.client) out["client"] = *s.client;
    if (s.account) out["account"] = *s.account;
    if (s.path_prefix) out["path_prefix"] = *s.path_prefix;
    return out;
}

json period_json(const period_spec& p) {
    if (!p.anchor) return std::string(to_string(p.every));
    return json{{"every", std::string(to_string(p.every))}, {"anchor", to_string(*p.anchor)}};
}

}  // namespace

bool view_scope::sees(const budget_def& b) const {
    if (!team) return true;
    if (b.scope.team) return *b.scope.team == *team;
    if (b.scope.client) return std::find(clients.begin(), clients.end(), *b.scope.client) != clients.end();
    return false;  // everyone's or an account's: spans teams
}

json budgets_json(const metering& books, const view_scope& scope) {
    json list = json::array();
    for (const budget_view& v : books.budgets()) {
        const budget_def& d = *v.def;
        if (!scope.sees(d)) continue;
        const bool metered = d.kind == budget_kind::credits || d.kind == budget_kind::money;
        json b{{"id", d.id},
               {"kind", std::string(to_string(d.kind))},
               {"scope", scope_json(d.scope)},
               {"vendor", d.vendor},
               {"unit", v.unit.empty() ? json(nullptr) : json(v.unit)},
               {"limit", amount_json(v.limit)},
               {"used", amount_json(v.used)},
               {"frozen", amount_json(v.frozen)},
               {"remaining", amount_json(v.remaining)},
               {"drift", amount_json(v.drift)},
               {"period", metered ? period_json(d.period) : json(nullptr)},
               {"period_start", metered && d.period.every != period_unit::none ? json(format_utc(v.window.start)) : json(nullptr)},
               {"period_end", metered && d.period.every != period_unit::none ? json(format_utc(v.window.end)) : json(nullptr)},
               {"on_exceed", d.on_exceed == exceed_action::queue ? "queue" : "reject"},
               {"mode", d.mode == budget_mode::shadow ? "shadow" : "enforce"},
               {"queued", v.queued},
               {"would_block", v.would_block},
               {"soft_limit", d.soft_limit ? amount_json(*d.soft_limit) : json(nullptr)},
               {"forecast_exhausted_at", v.forecast_exhausted_at ? json(format_utc(*v.forecast_exhausted_at)) : json(nullptr)},
               {"soft_limit_reached", v.soft_limit_reached}};
        if (d.kind == budget_kind::rate) b["rate"] = std::to_string(d.rate.tokens) + "/" + std::to_string(d.rate.per_seconds) + "s";
        list.push_back(std::move(b));
    }
    return json{{"budgets", std::move(list)}};
}

json accounts_json(const metering& books) {
    json list = json::array();
    for (const account_view& a : books.accounts()) {
        list.push_back({{"id", a.id},
                        {"vendor", a.vendor},
                        {"remaining", a.remaining ? amount_json(*a.remaining) : json(nullptr)},
                        {"source", std::string(to_string(a.source))},
                        {"updated_at", a.updated_at ? json(format_utc(*a.updated_at)) : json(nullptr)},
                        {"frozen", amount_json(a.frozen)},
                        {"drift", amount_json(a.drift)},
                        {"exhausted", a.exhausted},
                        {"poll_error", a.poll_error ? json(*a.poll_error) : json(nullptr)}});
    }
    return json{{"accounts", std::move(list)}};
}

json reservations_json(const metering& books, const view_scope& scope) {
    json list = json::array();
    for (const reservation_view& r : books.reservations()) {
        if (scope.team && r.labels.team != *scope.team) continue;
        list.push_back({{"request_id", r.labels.request_id},
                        {"client", r.labels.client},
                        {"team", r.labels.team},
                        {"vendor", r.labels.vendor},
                        {"account", r.labels.account},
                        {"amount", amount_json(r.amount)},
                        {"budgets", r.budgets},
                        {"state", "frozen"},
                        {"age_ms", r.age_ns / 1'000'000}});
    }
    return json{{"reservations", std::move(list)}};
}

civil_date utc_today() {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    return civil_from_days(now / 86'400);
}

admin_response usage_response(ledger_store& store, std::string_view query, const unit_lookup& unit_of, const view_scope& scope) {
    if (!store.persistent())
        return admin_error(501, "no_ledger", "usage reports read the ledger, and storage.kind is \"memory\": nothing is kept");
    std::vector<std::pair<std::string, std::string>> params;
    for (auto& p : parse_query(query)) params.emplace_back(std::move(p.name), std::move(p.value));
    auto request = parse_usage_request(params, utc_today());
    if (!request.value) return admin_error(400, "bad_request", request.error);
    if (scope.team) {
        auto& team = request.value->query.team;
        if (team && *team != *scope.team) return admin_error(403, "forbidden", "this token sees team \"" + *scope.team + "\" only");
        team = scope.team;
    }
    auto rows = store.usage(request.value->query);
    if (!rows) return admin_error(503, "storage_unavailable", "the ledger cannot be read");
    assign_units(*rows, unit_of);
    switch (request.value->format) {
        case report_format::csv: {
            admin_response r{200, "text/csv; charset=utf-8", usage_csv(request.value->query, *rows)};
            r.attachment = "creditgate-usage-" + to_string(request.value->query.from) + "-" + to_string(request.value->query.to) + ".csv";
            return r;
        }
        case report_format::table: return admin_response{200, "text/plain; charset=utf-8", usage_table(request.value->query, *rows)};
        case report_format::json: break;
    }
    return admin_response{200, "application/json", policies::dump_exact(usage_json(request.value->query, *rows)) + "\n"};
}

admin_response estimate_response(const metering& books, const vendor_routes& routes,
                                 const std::function<std::optional<std::string>(const std::string& client)>& team_of,
                                 std::string_view body) {
    const json request = json::parse(body, nullptr, false);
    if (request.is_discarded() || !request.is_object()) return admin_error(400, "bad_request", "expected a JSON object {\"client\", \"calls\"}");
    std::string client, team;
    for (const auto& [key, value] : request.items()) {
        if (key == "client" && value.is_string()) {
            client = value.get<std::string>();
            const auto found = team_of(client);
            if (!found) return admin_error(400, "bad_request", "client: no client \"" + client + "\" is configured");
            team = *found;
        } else if (key != "calls") {
            return admin_error(400, "bad_request", key + ": unknown or of the wrong type");
        }
    }
    std::string error;
    const auto calls = parse_planned_calls(request.contains("calls") ? request["calls"] : json(), error);
    if (!calls) return admin_error(400, "bad_request", error);
    return admin_response{200, "application/json", dump_exact(estimate_json(estimate_job(books, routes, client, team, *calls))) + "\n"};
}

}  // namespace creditgate::proxy

namespace creditgate::proxy {

admin_response instances_response(policies::ledger_store& store, const policies::instance_view& self) {
    std::vector<policies::instance_view> found;
    if (store.fleet()) {
        auto fleet = store.instances();
        if (!fleet) return admin_error(503, "storage_unavailable", "the fleet's database cannot be read");
        found = std::move(*fleet);
    } else {
        found.push_back(self);
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& i : found) {
        nlohmann::json leases = nlohmann::json::array();
        for (const auto& [budget, amount] : i.leases) leases.push_back({{"budget", budget}, {"amount", amount_json(amount)}});
        // Tenths of a second: an age, not a measurement.
        const double age = static_cast<double>(static_cast<std::int64_t>(i.heartbeat_age_s * 10 + 0.5)) / 10;
        list.push_back({{"id", i.name}, {"started_at", i.started_at}, {"heartbeat_age_s", age}, {"self", i.self}, {"leases", leases}});
    }
    return admin_response{200, "application/json", policies::dump_exact(nlohmann::json{{"instances", list}}) + "\n"};
}

std::string lease_metrics(const policies::ledger_store& store) {
    const auto counts = store.lease_requests();
    if (!counts) return {};
    std::string out =
        "# HELP creditgate_lease_requests_total Lease requests to the fleet's central rows, by result.\n"
        "# TYPE creditgate_lease_requests_total counter\n";
    out += "creditgate_lease_requests_total{result=\"granted\"} " + std::to_string(counts->granted) + "\n";
    out += "creditgate_lease_requests_total{result=\"denied\"} " + std::to_string(counts->denied) + "\n";
    out += "creditgate_lease_requests_total{result=\"failed\"} " + std::to_string(counts->failed) + "\n";
    out += "# HELP creditgate_lease_exchanges_total Exchanges (one transaction each) with the fleet's central rows.\n"
           "# TYPE creditgate_lease_exchanges_total counter\n";
    out += "creditgate_lease_exchanges_total " + std::to_string(counts->exchanges) + "\n";
    return out;
}

}  // namespace creditgate::proxy
