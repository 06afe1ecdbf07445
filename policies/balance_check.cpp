#include "policies/balance_check.hpp"

#include "policies/cost_model.hpp"
#include "policies/json_input.hpp"

namespace creditgate::policies {
namespace {

// The path with every {name} replaced by params[name]; nullopt names the missing one.
std::optional<std::string> fill_placeholders(const std::string& path, const std::map<std::string, std::string>& params,
                                             std::string& error) {
    std::string out;
    for (std::size_t i = 0; i < path.size();) {
        if (path[i] != '{') {
            out += path[i++];
            continue;
        }
        const auto close = path.find('}', i);
        if (close == std::string::npos) {
            error = "unclosed { in balance path " + path;
            return std::nullopt;
        }
        const std::string name = path.substr(i + 1, close - i - 1);
        auto it = params.find(name);
        if (it == params.end()) {
            error = "the balance path " + path + " needs params." + name + " on the account";
            return std::nullopt;
        }
        out += percent_encode(it->second);
        i = close + 1;
    }
    return out;
}

const json* at(const json& doc, const std::string& pointer) {
    try {
        const json::json_pointer p(pointer);
        return doc.contains(p) ? &doc.at(p) : nullptr;
    } catch (const json::exception&) {
        return nullptr;
    }
}

// A number (exact) or a numeric string at `pointer`; nullopt otherwise. A JSON null reads as
// zero only when `null_is_zero` (MultiCart's frozen_credits may be absent or null).
std::optional<money> amount_at(const json& doc, const std::string& pointer, std::string& error, bool null_is_zero = false) {
    const json* node = at(doc, pointer);
    if (!node || node->is_null()) {
        if (null_is_zero) return money{};
        error = "no number at " + pointer;
        return std::nullopt;
    }
    issue_list ignored;
    auto value = node->is_string() ? money::parse_amount(node->get<std::string>(), money::excess_digits::round_half_even)
                                   : read_amount(*node, pointer, ignored);
    if (!value && is_decimal(*node))  // more than 6 fraction digits: round rather than refuse a reading
        value = money::parse_amount((*node)["$decimal"].get<std::string>(), money::excess_digits::round_half_even);
    if (!value) error = "not an amount within ±10^12 at " + pointer;
    return value;
}

}  // namespace

std::optional<balance_request> make_balance_request(const vendor_profile& profile, const std::string& api_key,
                                                    const std::map<std::string, std::string>& params, std::string& error) {
    if (!profile.balance) {
        error = "vendor " + profile.name + " has no balance endpoint";
        return std::nullopt;
    }
    if (profile.auth.empty()) {
        error = "vendor " + profile.name + " takes no API key";
        return std::nullopt;
    }
    const balance_spec& spec = *profile.balance;
    balance_request r;
    r.method = spec.method;
    r.host = spec.host.value_or(profile.hosts.empty() ? std::string() : profile.hosts.front());
    if (r.host.empty() || r.host[0] == '*') {
        error = "vendor " + profile.name + " needs balance.host (its first host is a pattern)";
        return std::nullopt;
    }
    auto path = fill_placeholders(spec.path, params, error);
    if (!path) return std::nullopt;
    r.target = *path;
    r.described = r.method + " " + r.host + r.target;
    const auth_source& auth = profile.auth.front();
    switch (auth.where) {
        case auth_source::kind::query:
            r.target += r.target.find('?') == std::string::npos ? '?' : '&';
            r.target += percent_encode(auth.name) + "=" + percent_encode(api_key);
            break;
        case auth_source::kind::header: r.header.emplace(auth.name, api_key); break;
        case auth_source::kind::bearer: r.header.emplace("Authorization", "Bearer " + api_key); break;
    }
    if (spec.body) r.body = spec.body->dump();
    else if (r.method == "POST" || r.method == "PUT") r.body = "{}";
    return r;
}

balance_answer read_balance(const balance_spec& spec, unsigned status, std::string_view body) {
    balance_answer out;
    if (status < 200 || status > 299) {
        out.error = "the balance endpoint answered " + std::to_string(status);
        return out;
    }
    issue_list issues;
    const json doc = parse_json_document(body, env_lookup{}, issues);
    if (doc.is_null() || !issues.empty()) {
        out.error = "the balance endpoint answered something that is not JSON";
        return out;
    }
    money_sum remaining;
    if (!spec.remaining.empty()) {
        for (const auto& pointer : spec.remaining) {
            auto part = amount_at(doc, pointer, out.error);
            if (!part) return out;
            remaining += *part;
        }
    } else if (spec.limit && spec.used) {
        auto limit = amount_at(doc, *spec.limit, out.error);
        auto used = limit ? amount_at(doc, *spec.used, out.error) : std::nullopt;
        auto frozen = spec.frozen && used ? amount_at(doc, *spec.frozen, out.error, true) : std::optional<money>(money{});
        if (!limit || !used || !frozen) return out;
        remaining = money_sum(*limit) - *used - *frozen;
    } else {
        out.error = "the profile says neither balance.remaining nor balance.limit and balance.used";
        return out;
    }
    // A reading is itself an amount from outside: within range, or no reading at all.
    if (!remaining.to_money().in_range()) {
        out.error = "the balance is out of range (amounts lie within ±10^12)";
        return out;
    }
    out.remaining = remaining.to_money();
    return out;
}

}  // namespace creditgate::policies
