#include "policies/vendor_profile.hpp"

#include "policies/host_pattern.hpp"

namespace creditgate::policies {
namespace {

void check_pointer(object_reader& r, std::string_view key, const std::optional<std::string>& pointer) {
    if (!pointer) return;
    try {
        json::json_pointer p(*pointer);
    } catch (const json::exception&) {
        r.error(key, "\"" + *pointer + "\" is not a JSON pointer (\"/a/0/b\")");
    }
}

std::optional<std::string> pointer_field(object_reader& r, std::string_view key) {
    auto value = r.string(key);
    check_pointer(r, key, value);
    return value;
}

std::vector<std::string> name_list(object_reader& r, std::string_view key) {
    const json* node = r.get(key);
    if (!node) return {};
    if (node->is_string()) return {node->get<std::string>()};
    r.get(key);
    if (auto list = r.string_list(key)) return *list;
    return {};
}

std::string upper(std::string s) {
    for (char& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return s;
}

// A query condition's value as the text a URL would carry ("true", "5").
std::optional<std::string> scalar_text(const json& node) {
    if (node.is_string()) return node.get<std::string>();
    if (node.is_boolean()) return node.get<bool>() ? "true" : "false";
    if (node.is_number_integer()) return node.dump();
    if (is_decimal(node)) return node.begin()->get<std::string>();
    return std::nullopt;
}

std::vector<auth_source> read_auth(object_reader& parent) {
    std::vector<auth_source> out;
    const json* node = parent.get("auth");
    if (!node) return out;
    if (!node->is_array()) {
        parent.error("auth", "expected a list like [{\"query\": \"api_key\"}, {\"header\": \"X-Api-Key\"}, {\"bearer\": true}]");
        return out;
    }
    for (std::size_t i = 0; i < node->size(); ++i) {
        object_reader r((*node)[i], index_path(parent.path_of("auth"), i), parent.issues());
        if (!r.valid()) continue;
        auto query = r.string("query");
        auto header = r.string("header");
        auto bearer = r.boolean("bearer");
        const int kinds = int(query.has_value()) + int(header.has_value()) + int(bearer.value_or(false));
        if (kinds != 1) parent.issues().add(r.path(), "give exactly one of \"query\", \"header\" or \"bearer\": true");
        else if (query) out.push_back({auth_source::kind::query, *query});
        else if (header) out.push_back({auth_source::kind::header, *header});
        else out.push_back({auth_source::kind::bearer, {}});
        r.finish();
    }
    return out;
}

cost_condition read_condition(object_reader& r) {
    cost_condition c;
    if (auto method = r.string("method")) c.method = upper(*method);
    c.path_prefix = r.string("path_prefix");
    if (c.path_prefix && (c.path_prefix->empty() || c.path_prefix->front() != '/')) r.error("path_prefix", "must start with /");
    if (const json* query = r.get("query")) {
        object_reader q(*query, r.path_of("query"), r.issues());
        if (q.valid()) {
            for (const auto& [name, value] : query->items()) {
                q.get(name);
                if (auto text = scalar_text(value)) c.query.emplace_back(name, *text);
                else q.error(name, "expected a string, number or boolean");
            }
        }
    }
    c.query_present = name_list(r, "query_present");
    if (const json* td = r.get("target_domain")) {
        object_reader t(*td, r.path_of("target_domain"), r.issues());
        cost_condition::domain_match m;
        m.param = t.string("param", true).value_or("");
        if (auto domains = t.string_list("domains")) {
            for (std::size_t i = 0; i < domains->size(); ++i) {
                std::string d = normalize_host((*domains)[i]);
                if (!is_valid_host_pattern(d)) r.issues().add(index_path(t.path_of("domains"), i), "\"" + d + "\" is not a host pattern");
                m.domains.push_back(std::move(d));
            }
        } else if (!t.has("domains")) {
            t.error("domains", "is required");
        }
        t.finish();
        c.target_domain = std::move(m);
    }
    c.jsonrpc_methods = name_list(r, "jsonrpc_method");
    return c;
}

std::optional<cost_rule> read_rule(const json& node, const std::string& path, issue_list& issues) {
    object_reader r(node, path, issues);
    if (!r.valid()) return std::nullopt;
    cost_rule rule;
    if (const json* when = r.get("when")) {
        object_reader w(*when, r.path_of("when"), issues);
        rule.when = read_condition(w);
        w.finish();
    } else {
        r.error("when", "is required");
    }
    const bool has_cost = r.has("cost"), has_add = r.has("add"), has_multiply = r.has("multiply");
    if (int(has_cost) + int(has_add) + int(has_multiply) != 1) {
        issues.add(path, "a rule has exactly one of \"cost\", \"add\" or \"multiply\"");
    }
    const char* key = has_add ? "add" : has_multiply ? "multiply" : "cost";
    rule.op = has_add ? cost_rule::effect::add : has_multiply ? cost_rule::effect::multiply : cost_rule::effect::set;
    for (const char* k : {"cost", "add", "multiply"}) if (k != std::string_view(key)) r.get(k);
    if (auto value = r.amount(key, true)) {
        if (value->is_negative()) r.error(key, "must not be negative");
        rule.value = *value;
    }
    if (const json* per = r.get("per_param")) {
        object_reader p(*per, r.path_of("per_param"), issues);
        cost_rule::scale s;
        s.name = p.string("name", true).value_or("");
        s.fallback = p.amount("default").value_or(money::units(1));
        if (s.fallback.is_negative()) p.error("default", "must not be negative");
        p.finish();
        rule.per_param = std::move(s);
    }
    r.finish();
    return rule;
}

cost_spec read_cost(object_reader& parent) {
    cost_spec spec;
    const json* node = parent.get("cost");
    if (!node) return spec;
    object_reader r(*node, parent.path_of("cost"), parent.issues());
    if (!r.valid()) return spec;
    if (auto d = r.amount("default")) {
        if (d->is_negative()) r.error("default", "must not be negative");
        spec.default_cost = *d;
    }
    if (const json* rules = r.get("rules")) {
        if (!rules->is_array()) r.error("rules", "expected a list of rules");
        else
            for (std::size_t i = 0; i < rules->size(); ++i)
                if (auto rule = read_rule((*rules)[i], index_path(r.path_of("rules"), i), parent.issues()))
                    spec.rules.push_back(std::move(*rule));
    }
    spec.max_cost_param = r.string("max_cost_param");
    if (const json* statuses = r.get("charge_on_status")) {
        if (!statuses->is_array()) {
            r.error("charge_on_status", "expected a list of HTTP statuses");
        } else {
            for (std::size_t i = 0; i < statuses->size(); ++i) {
                const json& s = (*statuses)[i];
                if (!s.is_number_integer() || s.get<std::int64_t>() < 100 || s.get<std::int64_t>() > 599)
                    parent.issues().add(index_path(r.path_of("charge_on_status"), i), "expected an HTTP status (100-599)");
                else
                    spec.charge_on_status.push_back(s.get<unsigned>());
            }
        }
    }
    r.finish();
    return spec;
}

std::optional<body_signal> read_signal(const json& node, const std::string& path, issue_list& issues, bool needs_pointer) {
    object_reader r(node, path, issues);
    if (!r.valid()) return std::nullopt;
    body_signal s;
    if (auto status = r.integer("status", 100, 599)) s.status = static_cast<unsigned>(*status);
    s.body_contains = r.string("body_contains");
    s.pointer = pointer_field(r, "pointer");
    if (const json* equals = r.get("equals")) s.equals = *equals;
    if (s.pointer.has_value() != s.equals.has_value()) issues.add(path, "\"pointer\" and \"equals\" go together");
    if (needs_pointer && !s.pointer) issues.add(path, "needs \"pointer\" and \"equals\"");
    if (!needs_pointer && !s.status && !s.reads_body()) issues.add(path, "needs a \"status\", \"body_contains\" or \"pointer\"");
    r.finish();
    return s;
}

response_spec read_response(object_reader& parent) {
    response_spec spec;
    const json* node = parent.get("response");
    if (!node) return spec;
    object_reader r(*node, parent.path_of("response"), parent.issues());
    if (!r.valid()) return spec;
    spec.cost_header = r.string("cost_header");
    spec.balance_header = r.string("balance_header");
    spec.requests_remaining_header = r.string("requests_remaining_header");
    spec.cost_from_balance_delta = r.boolean("cost_from_balance_delta").value_or(false);
    if (spec.cost_from_balance_delta && !spec.balance_header)
        r.error("cost_from_balance_delta", "needs a balance_header to take the difference of");
    if (const json* list = r.get("out_of_credit")) {
        if (!list->is_array()) r.error("out_of_credit", "expected a list of signals");
        else
            for (std::size_t i = 0; i < list->size(); ++i)
                if (auto s = read_signal((*list)[i], index_path(r.path_of("out_of_credit"), i), parent.issues(), false))
                    spec.out_of_credit.push_back(std::move(*s));
    }
    if (const json* success = r.get("success")) spec.success = read_signal(*success, r.path_of("success"), parent.issues(), true);
    if (const json* from_body = r.get("actual_from_body")) {
        object_reader a(*from_body, r.path_of("actual_from_body"), parent.issues());
        response_spec::count_each ce;
        ce.count = a.string("count", true).value_or("");
        check_pointer(a, "count", ce.count);
        ce.each = a.amount("each", true).value_or(money{});
        if (ce.each.is_negative()) a.error("each", "must not be negative");
        a.finish();
        spec.actual_from_body = std::move(ce);
    }
    r.finish();
    return spec;
}

std::optional<balance_spec> read_balance(object_reader& parent) {
    const json* node = parent.get("balance");
    if (!node) return std::nullopt;
    object_reader r(*node, parent.path_of("balance"), parent.issues());
    if (!r.valid()) return std::nullopt;
    balance_spec b;
    if (auto method = r.string("method")) {
        b.method = upper(*method);
        if (b.method != "GET" && b.method != "POST") r.error("method", "must be GET or POST");
    }
    b.path = r.string("path", true).value_or("/");
    if (b.path.empty() || b.path.front() != '/') r.error("path", "must start with /");
    if (const json* body = r.get("body")) b.body = *body;
    b.host = r.string("host");
    if (const json* remaining = r.get("remaining")) {
        if (remaining->is_string()) b.remaining = {remaining->get<std::string>()};
        else if (auto list = r.string_list("remaining")) b.remaining = *list;
        for (const auto& p : b.remaining) check_pointer(r, "remaining", p);
    }
    b.limit = pointer_field(r, "limit");
    b.used = pointer_field(r, "used");
    b.frozen = pointer_field(r, "frozen");
    b.period_end = pointer_field(r, "period_end");
    if (b.remaining.empty() && !(b.limit && b.used))
        parent.issues().add(r.path(), "needs \"remaining\", or \"limit\" and \"used\"");
    if (auto interval = r.integer("min_interval_s", 1, 86'400)) b.min_interval_s = *interval;
    r.finish();
    return b;
}

}  // namespace

bool cost_spec::reads_json_body() const {
    for (const auto& rule : rules)
        if (!rule.when.jsonrpc_methods.empty() || rule.per_param) return true;
    return false;
}

bool response_spec::reads_body() const {
    if (success || actual_from_body) return true;
    for (const auto& s : out_of_credit)
        if (s.reads_body()) return true;
    return false;
}

bool vendor_profile::serves(std::string_view normalized_host) const {
    for (const auto& pattern : hosts)
        if (host_matches(pattern, normalized_host)) return true;
    return false;
}

std::optional<upstream_tls_mode> parse_upstream_tls(std::string_view text) {
    if (text == "always") return upstream_tls_mode::always;
    if (text == "never") return upstream_tls_mode::never;
    if (text == "as_client") return upstream_tls_mode::as_client;
    return std::nullopt;
}

std::optional<vendor_profile> read_vendor_profile(const json& document, const std::string& path, issue_list& issues) {
    const std::size_t before = issues.items().size();
    object_reader r(document, path, issues);
    if (!r.valid()) return std::nullopt;

    vendor_profile profile;
    if (auto name = r.string("name", true)) profile.name = *name;
    if (auto hosts = r.string_list("hosts")) {
        for (std::size_t i = 0; i < hosts->size(); ++i) {
            std::string host = normalize_host((*hosts)[i]);
            if (!is_valid_host_pattern(host))
                issues.add(index_path(r.path_of("hosts"), i), "\"" + (*hosts)[i] + "\" is not a host name or pattern");
            else
                profile.hosts.push_back(std::move(host));
        }
        if (hosts->empty()) r.error("hosts", "must name at least one host");
    } else if (!r.has("hosts")) {
        r.error("hosts", "is required");
    }
    if (auto unit = r.string("unit")) profile.unit = *unit;
    if (auto price = r.amount("usd_per_unit")) {
        if (price->is_negative()) r.error("usd_per_unit", "must not be negative");
        profile.usd_per_unit = price;
    }
    if (auto tls = r.string("upstream_tls")) {
        if (auto mode = parse_upstream_tls(*tls)) profile.upstream_tls = *mode;
        else r.error("upstream_tls", "must be \"always\", \"never\" or \"as_client\"");
    }
    profile.auth = read_auth(r);
    profile.cost = read_cost(r);
    profile.response = read_response(r);
    profile.balance = read_balance(r);
    r.finish();
    if (issues.items().size() != before) return std::nullopt;
    return profile;
}

}  // namespace creditgate::policies
