#include "policies/cost_model.hpp"

#include "policies/host_pattern.hpp"
#include "policies/json_values.hpp"

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

// The JSON-RPC calls of a body: one object, or every element of a batch. A batch element that
// is not a well-formed call is still one call to the vendor: it is priced at the default, so
// that malformed batches are never cheaper than they bill. An empty batch is one call.
std::vector<const json*> jsonrpc_calls(const json* body) {
    std::vector<const json*> calls;
    if (!body) return calls;
    if (body->is_object() && body->contains("method")) calls.push_back(body);
    if (body->is_array()) {
        for (const auto& call : *body) calls.push_back(&call);
        if (calls.empty()) calls.push_back(body);
    }
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
        if (!call || !call->is_object()) return false;
        const auto method = call->find("method");
        if (method == call->end() || !method->is_string()) return false;
        if (std::find(c.jsonrpc_methods.begin(), c.jsonrpc_methods.end(), method->get<std::string>()) ==
            c.jsonrpc_methods.end())
            return false;
    }
    return true;
}

struct priced {
    money amount;
    std::uint64_t rules = 0;
    std::optional<refusal_code> error;
    std::string message;
};

priced refuse_amount(std::string message) { return {money{}, 0, refusal_code::bad_request, std::move(message)}; }

// A rule's value, scaled by its per_param (query first, then the JSON body's top level). A
// parameter that is present must be a non-negative amount in range: one the proxy cannot read
// would otherwise be priced at the default while the vendor bills what it says.
priced rule_value(const cost_rule& rule, const request_facts& f) {
    if (!rule.per_param) return priced{rule.value, 0, std::nullopt, {}};
    const std::string& name = rule.per_param->name;
    std::optional<money> factor;
    bool present = false;
    if (f.query) {
        if (const std::string* v = find_param(*f.query, name)) {
            present = true;
            factor = money::parse_amount(*v, money::excess_digits::round_half_even);
        }
    }
    if (!present && f.body && f.body->is_object()) {
        if (auto it = f.body->find(name); it != f.body->end() && !it->is_null()) {
            present = true;
            factor = numeric_amount(*it);
        }
    }
    if (!present) factor = rule.per_param->fallback;
    if (!factor || factor->is_negative())
        return refuse_amount("parameter " + name + " must be a non-negative number of at most 10^12");
    auto value = rule.value.times(*factor, money::rounding::up);
    if (!value || !value->in_range()) return refuse_amount("parameter " + name + " makes the price out of range");
    return priced{*value, 0, std::nullopt, {}};
}

priced price_one(const vendor_profile& p, const request_facts& f, const json* call) {
    priced out{p.cost.default_cost, 0, std::nullopt, {}};
    for (std::size_t i = 0; i < p.cost.rules.size(); ++i) {
        const auto& rule = p.cost.rules[i];
        if (!holds(rule.when, f, call)) continue;
        priced value = rule_value(rule, f);
        if (value.error) return value;
        std::optional<money> next;
        switch (rule.op) {
            case cost_rule::effect::set: next = value.amount; break;
            case cost_rule::effect::add: next = out.amount.checked_add(value.amount); break;
            case cost_rule::effect::multiply: next = out.amount.times(value.amount, money::rounding::up); break;
        }
        if (!next || !next->in_range()) return refuse_amount("the price of this call is out of range");
        out.amount = *next;
        out.rules |= std::uint64_t{1} << (i % 64);
    }
    return out;
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
    if (facts.body_unparsed && profile.cost.reads_json_body()) {
        out.error = refusal_code::unpriceable_request;
        out.message = "the price of a " + profile.name + " call depends on its JSON body, and the body does not parse as JSON";
        return out;
    }
    const auto calls = jsonrpc_calls(facts.body);
    money_sum total;
    if (calls.empty()) {
        const priced one = price_one(profile, facts, nullptr);
        if (one.error) {
            out.error = one.error;
            out.message = one.message;
            return out;
        }
        total += one.amount;
        out.rules_matched = one.rules;
    } else {
        for (const json* call : calls) {  // a batch is priced call by call
            const priced one = price_one(profile, facts, call);
            if (one.error) {
                out.error = one.error;
                out.message = one.message;
                return out;
            }
            total += one.amount;
            out.rules_matched |= one.rules;
        }
    }
    out.from_rules = total.to_money();
    if (!out.from_rules.in_range()) {
        out.error = refusal_code::bad_request;
        out.message = "the price of this call is out of range";
        return out;
    }
    out.amount = out.from_rules;
    if (profile.cost.max_cost_param && facts.query) {
        if (const std::string* cap = find_param(*facts.query, *profile.cost.max_cost_param)) {
            const auto v = money::parse_amount(*cap, money::excess_digits::round_half_even);
            if (!v && money::is_decimal_text(*cap)) {
                // The vendor may honour a cap this large; the books cannot hold it (SPEC §1).
                out.error = refusal_code::bad_request;
                out.message = *profile.cost.max_cost_param + " is out of range (at most 10^12)";
                return out;
            }
            // Not a number, or negative: the vendor cannot cap by it; the rules price the call.
            if (v && !v->is_negative()) {
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

}  // namespace creditgate::policies
