#pragma once
// vendor_profile: what creditgate knows about one metered API, loaded from data
// (config/vendors/NAME.json), so that a new vendor needs no rebuild.

#include "policies/json_input.hpp"
#include "policies/money.hpp"

#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

enum class upstream_tls_mode { always, never, as_client };

// Where a request carries its API key; the first one present wins.
struct auth_source {
    enum class kind { query, header, bearer } where = kind::query;
    std::string name;  // query parameter or header name; empty for bearer
};

struct cost_condition {
    std::optional<std::string> method;                           // upper case
    std::optional<std::string> path_prefix;
    std::vector<std::pair<std::string, std::string>> query;      // parameter -> value, case-insensitive values
    std::vector<std::string> query_present;
    struct domain_match {
        std::string param;                 // the parameter holding a URL
        std::vector<std::string> domains;  // normalised host globs
    };
    std::optional<domain_match> target_domain;
    std::vector<std::string> jsonrpc_methods;
};

struct cost_rule {
    cost_condition when;
    enum class effect { set, add, multiply } op = effect::set;
    money value;
    struct scale {
        std::string name;  // numeric query or JSON-body parameter
        money fallback;    // when the parameter is absent
    };
    std::optional<scale> per_param;
};

struct cost_spec {
    money default_cost = money::units(1);
    std::vector<cost_rule> rules;
    std::optional<std::string> max_cost_param;
    std::vector<unsigned> charge_on_status;  // empty: every 2xx
    bool reads_json_body() const;           // some rule needs the request's JSON body
};

// A body-level signal: a status plus a substring, or a JSON pointer equal to a value.
struct body_signal {
    std::optional<unsigned> status;
    std::optional<std::string> body_contains;
    std::optional<std::string> pointer;
    std::optional<json> equals;
    bool reads_body() const { return body_contains.has_value() || pointer.has_value(); }
};

struct response_spec {
    std::optional<std::string> cost_header;
    std::optional<std::string> balance_header;
    std::optional<std::string> requests_remaining_header;
    bool cost_from_balance_delta = false;
    std::vector<body_signal> out_of_credit;
    std::optional<body_signal> success;  // pointer + equals
    struct count_each {
        std::string count;  // JSON pointer to an array (its length) or a number
        money each;
    };
    std::optional<count_each> actual_from_body;
    bool reads_body() const;
};

struct balance_spec {
    std::string method = "GET";
    std::string path;  // may hold {placeholders} filled from the account's params
    std::optional<json> body;
    std::optional<std::string> host;
    std::vector<std::string> remaining;  // pointers, summed
    std::optional<std::string> limit, used, frozen, period_end;
    std::int64_t min_interval_s = 15;
};

struct vendor_profile {
    std::string name;
    std::vector<std::string> hosts;  // normalised exact names or "*." patterns
    std::string unit = "credits";
    std::optional<money> usd_per_unit;
    upstream_tls_mode upstream_tls = upstream_tls_mode::always;
    std::vector<auth_source> auth;
    cost_spec cost;
    response_spec response;
    std::optional<balance_spec> balance;

    bool serves(std::string_view normalized_host) const;
};

// Validates one profile document; problems are reported under `path` in `issues`.
std::optional<vendor_profile> read_vendor_profile(const json& document, const std::string& path, issue_list& issues);

std::optional<upstream_tls_mode> parse_upstream_tls(std::string_view text);

}  // namespace creditgate::policies
