#include "policies/cost_model.hpp"

#include "policies/host_pattern.hpp"

#include <algorithm>
#include <cctype>

namespace creditgate::policies {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string url_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

// The host of a URL given as a parameter ("https://www.amazon.com/dp/X" -> "www.amazon.com").
std::string url_host(std::string_view url) {
    if (auto scheme = url.find("://"); scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
    url = url.substr(0, url.find_first_of("/?#"));
    if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
    if (!url.empty() && url.front() == '[') return std::string(url.substr(0, url.find(']') + 1));
    return normalize_host(url.substr(0, url.find(':')));
}

std::optional<money> numeric(const json& value) {
    if (value.is_number_integer()) return money::parse(value.dump());
    if (value.is_number_float()) return money::parse(value.dump(), money::excess_digits::round_half_even);
    if (value.is_string()) return money::parse(value.get<std::string>(), money::excess_digits::round_half_even);
    return std::nullopt;
}

// The JSON-RPC calls of a body: one object, or each object of a batch.
std::vector<const json*> jsonrpc_calls(const json* body) {
    std::vector<const json*> calls;
    if (!body) return calls;
    if (body->is_object() && body->contains("method")) calls.push_back(body);
    if (body->is_array())
        for (const auto& call : *body)
            if (call.is_object() && call.contains("method")) calls.push_back(&call);
    return calls;
}

bool holds(const cost_condition& c, const request_facts& f, const json* call) {
    if (c.method && !iequals(*c.method, f.method)) return false;
    if (c.path_prefix && f.path.substr(0, c.path_prefix->size()) != *c.path_prefix) return false;
    static const std::vector<query_param> no_query;
    const auto& query = f.query ? *f.query : no_query;
    for (const auto& [name, value] : c.query) {
        const std::string* got = find_param(query, name);
        if (!got || !iequals(*got, value)) return false;
    }
    for (const auto& name : c.query_present)
        if (!find_param(query, name)) return false;
    if (c.target_domain) {
        const std::string* url = find_param(query, c.target_domain->param);
        if (!url) return false;
        const std::string host = url_host(*url);
        if (std::none_of(c.target_domain->domains.begin(), c.target_domain->domains.end(),
                         [&](const std::string& d) { return host_matches(d, host); }))
            return false;
    }
    if (!c.jsonrpc_methods.empty()) {
        if (!call) return false;
        const json& method = (*call)["method"];
        if (!method.is_string()) return false;
        if (std::find(c.jsonrpc_methods.begin(), c.jsonrpc_methods.end(), method.get<std::string>()) ==
            c.jsonrpc_methods.end())
            return false;
    }
    return true;
}

// A rule's value, scaled by its per_param (query first, then the JSON body's top level).
money rule_value(const cost_rule& rule, const request_facts& f) {
    if (!rule.per_param) return rule.value;
    std::optional<money> factor;
    if (f.query)
        if (const std::string* v = find_param(*f.query, rule.per_param->name))
            factor = money::parse(*v, money::excess_digits::round_half_even);
    if (!factor && f.body && f.body->is_object())
        if (auto it = f.body->find(rule.per_param->name); it != f.body->end()) factor = numeric(*it);
    if (!factor || factor->is_negative()) factor = rule.per_param->fallback;
    return rule.value.times(*factor, money::rounding::up).value_or(rule.value);
}

money price_one(const vendor_profile& p, const request_facts& f, const json* call) {
    money cost = p.cost.default_cost;
    for (const auto& rule : p.cost.rules) {
        if (!holds(rule.when, f, call)) continue;
        const money value = rule_value(rule, f);
        switch (rule.op) {
            case cost_rule::effect::set: cost = value; break;
            case cost_rule::effect::add: cost += value; break;
            case cost_rule::effect::multiply: cost = cost.times(value, money::rounding::up).value_or(cost); break;
        }
    }
    return cost;
}

const json* at_pointer(const json* doc, const std::string& pointer) {
    if (!doc) return nullptr;
    try {
        const json::json_pointer p(pointer);
        if (!doc->contains(p)) return nullptr;
        return &(*doc)[p];
    } catch (const json::exception&) {
        return nullptr;
    }
}

bool json_equals(const json& got, const json& expected) {
    if (is_decimal(expected)) {
        const auto want = money::parse(expected.begin()->get<std::string>());
        const auto have = numeric(got);
        return want && have && *want == *have;
    }
    if (expected.is_number() && got.is_number()) return numeric(got) == numeric(expected);
    return got == expected;
}

bool signal_holds(const body_signal& s, const response_facts& f) {
    if (s.status && *s.status != f.status) return false;
    if (s.body_contains && f.body.find(*s.body_contains) == std::string_view::npos) return false;
    if (s.pointer) {
        const json* value = at_pointer(f.body_json, *s.pointer);
        if (!value || !s.equals || !json_equals(*value, *s.equals)) return false;
    }
    return true;
}

std::optional<money> header_amount(const response_facts& f, const std::optional<std::string>& name) {
    if (!name || !f.header) return std::nullopt;
    auto value = f.header(*name);
    if (!value) return std::nullopt;
    std::string_view v = *value;
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
    return money::parse(v, money::excess_digits::round_half_even);
}

bool charged_status(const cost_spec& c, unsigned status) {
    if (c.charge_on_status.empty()) return status >= 200 && status < 300;
    return std::find(c.charge_on_status.begin(), c.charge_on_status.end(), status) != c.charge_on_status.end();
}

}  // namespace

std::string percent_encode(std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

std::vector<query_param> parse_query(std::string_view query) {
    std::vector<query_param> out;
    while (!query.empty()) {
        const auto amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        if (!pair.empty()) {
            const auto eq = pair.find('=');
            out.push_back({url_decode(pair.substr(0, eq)), eq == std::string_view::npos ? std::string() : url_decode(pair.substr(eq + 1))});
        }
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

const std::string* find_param(const std::vector<query_param>& query, std::string_view name) {
    for (const auto& p : query)
        if (p.name == name) return &p.value;
    return nullptr;
}

cost_estimate estimate_cost(const vendor_profile& profile, const request_facts& facts) {
    cost_estimate out;
    const auto calls = jsonrpc_calls(facts.body);
    if (calls.empty()) {
        out.from_rules = price_one(profile, facts, nullptr);
    } else {
        for (const json* call : calls) out.from_rules += price_one(profile, facts, call);  // a batch is priced call by call
    }
    out.amount = out.from_rules;
    if (profile.cost.max_cost_param && facts.query) {
        if (const std::string* cap = find_param(*facts.query, *profile.cost.max_cost_param)) {
            if (auto v = money::parse(*cap, money::excess_digits::round_half_even); v && !v->is_negative()) {
                out.amount = *v;
                out.client_cap = true;
            }
        }
    }
    return out;
}

std::optional<std::string> find_api_key(const vendor_profile& profile, const std::vector<query_param>& query,
                                        const header_lookup& header) {
    for (const auto& source : profile.auth) {
        switch (source.where) {
            case auth_source::kind::query:
                if (const std::string* v = find_param(query, source.name); v && !v->empty()) return *v;
                break;
            case auth_source::kind::header:
                if (auto v = header(source.name); v && !v->empty()) return std::string(*v);
                break;
            case auth_source::kind::bearer:
                if (auto v = header("Authorization"); v && v->size() > 7 && iequals(v->substr(0, 7), "bearer "))
                    return std::string(v->substr(7));
                break;
        }
    }
    return std::nullopt;
}

std::string_view to_string(settlement_basis basis) {
    switch (basis) {
        case settlement_basis::out_of_credit: return "out_of_credit";
        case settlement_basis::cost_header: return "cost_header";
        case settlement_basis::balance_delta: return "balance_delta";
        case settlement_basis::unsuccessful: return "unsuccessful";
        case settlement_basis::body: return "body";
        case settlement_basis::estimate: return "estimate";
        case settlement_basis::not_charged: return "not_charged";
    }
    return "not_charged";
}

settlement settle_cost(const vendor_profile& profile, money estimate, const response_facts& facts,
                       const balance_context& balance) {
    const response_spec& r = profile.response;
    settlement out;
    out.balance_reading = header_amount(facts, r.balance_header);
    out.requests_remaining = header_amount(facts, r.requests_remaining_header);

    // 1. The vendor says the account is out of credit.
    for (const auto& signal : r.out_of_credit) {
        if (signal_holds(signal, facts)) {
            out.basis = settlement_basis::out_of_credit;
            out.out_of_credit = true;
            return out;
        }
    }
    // 2. The vendor says what this call cost.
    if (auto cost = header_amount(facts, r.cost_header); cost && !cost->is_negative()) {
        out.actual = *cost;
        out.basis = settlement_basis::cost_header;
        return out;
    }
    // 3. The drop of a balance header, when no other call can have contributed to it.
    if (r.cost_from_balance_delta && out.balance_reading && balance.previous_reading && balance.sole_call_in_flight) {
        const money drop = *balance.previous_reading - *out.balance_reading;
        const auto ceiling = estimate.times(money::units(10), money::rounding::up);
        if (!drop.is_negative() && ceiling && drop <= *ceiling) {
            out.actual = drop;
            out.basis = settlement_basis::balance_delta;
            return out;
        }
    }
    // 4. The vendor's own success flag says the call failed.
    if (r.success && !signal_holds(*r.success, facts)) {
        out.basis = settlement_basis::unsuccessful;
        return out;
    }
    // 5. A charged status: the body's count, else the estimate.
    if (charged_status(profile.cost, facts.status)) {
        if (r.actual_from_body) {
            if (const json* count = at_pointer(facts.body_json, r.actual_from_body->count)) {
                std::optional<money> n;
                if (count->is_array()) n = money::units(static_cast<std::int64_t>(count->size()));
                else n = numeric(*count);
                if (n && !n->is_negative()) {
                    if (auto total = n->times(r.actual_from_body->each, money::rounding::half_even)) {
                        out.actual = *total;
                        out.basis = settlement_basis::body;
                        return out;
                    }
                }
            }
        }
        out.actual = estimate;
        out.basis = settlement_basis::estimate;
        return out;
    }
    // 6. Not charged.
    return out;
}

bool settlement_reads_body(const vendor_profile& profile, unsigned status, const header_lookup& header) {
    const response_spec& r = profile.response;
    for (const auto& s : r.out_of_credit)
        if ((!s.status || *s.status == status) && s.reads_body()) return true;
    response_facts facts;
    facts.status = status;
    facts.header = header;
    if (auto cost = header_amount(facts, r.cost_header); cost && !cost->is_negative()) return false;  // rule 2 decides
    if (!charged_status(profile.cost, status)) return false;  // rules 4-6 give 0 whatever the body says
    return r.success.has_value() || r.actual_from_body.has_value();
}

}  // namespace creditgate::policies
