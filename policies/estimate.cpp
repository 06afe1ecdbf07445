#include "policies/estimate.hpp"

#include "policies/host_pattern.hpp"
#include "policies/json_amount.hpp"
#include "policies/request_target.hpp"

#include <algorithm>
#include <cctype>
#include <map>

namespace creditgate::policies {
namespace {

priced_call failed(refusal_code code, std::string message) {
    priced_call out;
    out.error = code;
    out.message = std::move(message);
    return out;
}

// One call as admission would price it, with what it would claim from each budget.
priced_call price(const metering& books, const vendor_routes& routes, const std::string& client, const std::string& team,
                  const planned_call& call, std::vector<money_sum>& needs) {
    const auto target = parse_absolute_target(call.url);
    if (!target) return failed(refusal_code::bad_request, "not an absolute http:// or https:// URL");
    const vendor_profile* vendor = routes.vendor_for(normalize_host(target->where.host));
    if (!vendor) return failed(refusal_code::destination_not_allowed, "no configured vendor serves " + target->where.host);
    std::vector<query_param> query;
    if (const auto q = target->origin_form.find('?'); q != std::string::npos) query = parse_query(target->origin_form.substr(q + 1));
    json body;
    bool parsed = false;
    if (call.body && vendor->cost.reads_json_body()) parsed = parse_priced_body(*call.body, body);
    const request_facts facts{call.method, target->path(), &query, parsed ? &body : nullptr,
                              call.body.has_value() && vendor->cost.reads_json_body() && !parsed};
    const cost_estimate cost = estimate_cost(*vendor, facts);
    if (!cost.ok()) return failed(*cost.error, cost.message);

    // Who would pay: the account its key names (or the injecting account), as plan_call decides.
    account_ref account = account_ref::unregistered(vendor->name);
    const auto header = [&call](std::string_view name) -> std::optional<std::string_view> {
        for (const auto& [n, v] : call.headers)
            if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
                    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                }))
                return std::string_view(v);
        return std::nullopt;
    };
    if (const auto key = find_api_key(*vendor, query, header)) {
        if (const auto* bound = books.account_for_key(*vendor, *key)) account = account_ref::named(bound->id);
    } else if (const auto* bound = books.injecting_account(*vendor)) {
        account = account_ref::named(bound->id);
    }
    const money each = books.reservation_for(*vendor, cost);
    const call_facts facts_for_plan{{}, client, team, vendor, &account, call.method, target->where.host, target->path(),
                                    each, cost.rules_matched, 0};
    const admission_request plan = books.preview(facts_for_plan);
    for (const claim& c : plan.claims)
        if (c.budget < needs.size())
            needs[c.budget] = money_sum::of_micros(needs[c.budget].micros() + static_cast<__int128>(c.amount.micros()) * call.count);
    priced_call out;
    out.vendor = vendor->name;
    out.unit = vendor->unit;
    out.usd_per_unit = vendor->usd_per_unit;
    out.estimate = each;
    out.total = money_sum::of_micros(static_cast<__int128>(each.micros()) * call.count).to_money();
    return out;
}

}  // namespace

job_estimate estimate_job(const metering& books, const vendor_routes& routes, const std::string& client, const std::string& team,
                          const std::vector<planned_call>& calls) {
    job_estimate out;
    const auto views = books.budgets();
    std::vector<money_sum> needs(views.size());
    std::map<std::string, std::pair<job_total, money_sum>> totals;  // by vendor
    for (const auto& call : calls) {
        out.calls.push_back(price(books, routes, client, team, call, needs));
        const priced_call& p = out.calls.back();
        if (p.error) continue;
        auto& [total, sum] = totals[p.vendor];
        total.vendor = p.vendor;
        total.unit = p.unit;
        sum += p.total;
        if (p.usd_per_unit) total.cost_usd = *p.usd_per_unit;  // the price, for now: dollars below
    }
    for (auto& [vendor, entry] : totals) {
        job_total t = entry.first;
        t.credits = entry.second.to_money();
        if (t.cost_usd) t.cost_usd = t.credits.times(*t.cost_usd, money::rounding::up);
        out.totals.push_back(std::move(t));
    }
    for (std::size_t i = 0; i < views.size(); ++i) {
        const budget_view& v = views[i];
        if (needs[i].is_zero()) continue;  // the job claims nothing from it
        job_budget b;
        b.id = v.def->id;
        b.unit = shown_unit(v);
        b.needed = needs[i].to_money();
        const bool metered = v.def->kind == budget_kind::credits || v.def->kind == budget_kind::money;
        if (!metered) continue;  // slots and tokens come back by themselves: no fit to judge
        b.remaining = v.remaining;
        const money_sum gap = needs[i] - money_sum(v.remaining);
        b.fits = !(money_sum() < gap);
        b.short_by = b.fits ? money{} : gap.to_money();
        if (!b.fits && v.window.end != INT64_MAX && !(money_sum(v.limit) < needs[i])) b.fits_at = v.window.end;
        out.budgets.push_back(std::move(b));
    }
    return out;
}

std::optional<std::vector<planned_call>> parse_planned_calls(const nlohmann::json& calls, std::string& error) {
    if (!calls.is_array()) {
        error = "calls: expected a list";
        return std::nullopt;
    }
    if (calls.size() > 10'000) {
        error = "calls: at most 10000 entries";
        return std::nullopt;
    }
    std::vector<planned_call> out;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        const auto& c = calls[i];
        const std::string at = "calls[" + std::to_string(i) + "]";
        if (!c.is_object()) {
            error = at + ": expected an object";
            return std::nullopt;
        }
        planned_call p;
        for (const auto& [key, value] : c.items()) {
            if (key == "method" && value.is_string()) p.method = value.get<std::string>();
            else if (key == "url" && value.is_string()) p.url = value.get<std::string>();
            else if (key == "body") p.body = value.is_string() ? value.get<std::string>() : value.dump();
            else if (key == "count" && value.is_number_unsigned() && value.get<std::uint64_t>() >= 1 && value.get<std::uint64_t>() <= 1'000'000'000)
                p.count = value.get<std::uint64_t>();
            else if (key == "headers" && value.is_object()) {
                for (const auto& [name, v] : value.items()) {
                    if (!v.is_string()) {
                        error = at + ".headers." + name + ": expected a string";
                        return std::nullopt;
                    }
                    p.headers.emplace_back(name, v.get<std::string>());
                }
            } else {
                error = at + "." + key + (key == "count" ? ": expected a whole number from 1 to 1000000000" : ": unknown or of the wrong type");
                return std::nullopt;
            }
        }
        if (p.url.empty()) {
            error = at + ".url: is required";
            return std::nullopt;
        }
        out.push_back(std::move(p));
    }
    return out;
}

nlohmann::json estimate_json(const job_estimate& e) {
    using nlohmann::json;
    json calls = json::array(), totals = json::array(), budgets = json::array();
    for (const auto& c : e.calls) {
        if (c.error) {
            calls.push_back({{"error", std::string(to_string(*c.error))}, {"message", c.message}});
            continue;
        }
        calls.push_back({{"vendor", c.vendor}, {"unit", c.unit}, {"estimate", amount_json(c.estimate)}, {"total", amount_json(c.total)}});
    }
    for (const auto& t : e.totals)
        totals.push_back({{"vendor", t.vendor}, {"unit", t.unit}, {"credits", amount_json(t.credits)},
                          {"cost_usd", t.cost_usd ? amount_json(*t.cost_usd) : json(nullptr)}});
    for (const auto& b : e.budgets)
        budgets.push_back({{"id", b.id}, {"unit", b.unit}, {"remaining", amount_json(b.remaining)}, {"needed", amount_json(b.needed)},
                           {"fits", b.fits}, {"short_by", amount_json(b.short_by)},
                           {"fits_at", b.fits_at ? json(format_utc(*b.fits_at)) : json(nullptr)}});
    return json{{"calls", calls}, {"totals", totals}, {"budgets", budgets}};
}

}  // namespace creditgate::policies
