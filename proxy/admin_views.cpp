#include "proxy/admin_views.hpp"

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

std::string public_account_id(const std::string& id) {
    return id.rfind("unregistered@", 0) == 0 ? "unregistered" : id;
}

}  // namespace

json amount_json(money m) { return json::parse(m.to_string()); }

json budgets_json(const ledger& books) {
    json list = json::array();
    for (const budget_view& v : books.budgets()) {
        const budget_def& d = *v.def;
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
               {"soft_limit_reached", v.soft_limit_reached}};
        if (d.kind == budget_kind::rate) b["rate"] = std::to_string(d.rate.tokens) + "/" + std::to_string(d.rate.per_seconds) + "s";
        list.push_back(std::move(b));
    }
    return json{{"budgets", std::move(list)}};
}

json accounts_json(const ledger& books) {
    json list = json::array();
    for (const account_view& a : books.accounts()) {
        list.push_back({{"id", public_account_id(a.id)},
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

json reservations_json(const ledger& books) {
    json list = json::array();
    for (const reservation_view& r : books.reservations()) {
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

}  // namespace creditgate::proxy
