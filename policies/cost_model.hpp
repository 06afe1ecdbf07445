#pragma once
// cost_model: what a call is expected to cost before it leaves (the profile's rules) and what
// it cost after (SPEC §4's settlement rules, first match wins). Pure functions over facts.

#include "policies/money.hpp"
#include "policies/vendor_profile.hpp"

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::policies {

struct query_param {
    std::string name;
    std::string value;  // percent- and plus-decoded
};

// "a=1&b=x%20y" -> [{a,1},{b,"x y"}]
std::vector<query_param> parse_query(std::string_view query);
// RFC 3986 unreserved characters kept, everything else %XX: for values we add to a query.
std::string percent_encode(std::string_view text);
const std::string* find_param(const std::vector<query_param>& query, std::string_view name);

struct request_facts {
    std::string_view method;  // as sent ("GET")
    std::string_view path;    // without the query
    const std::vector<query_param>* query = nullptr;
    const json* body = nullptr;  // the parsed JSON body, when the profile reads it and it parsed
    bool body_unparsed = false;  // a body came that the profile reads, and it did not parse
};

// Parses a request body for pricing: RFC 8259 JSON as nlohmann reads it, and refused also when
// an object repeats a key (vendors' parsers differ on which one wins, so no price would be
// sure) or nesting passes 128 levels. False leaves `out` unspecified.
bool parse_priced_body(std::string_view text, json& out);

// Why a call cannot be priced; the proxy answers 400 with the code.
enum class pricing_error {
    none,
    bad_amount,   // bad_request: an amount from the client is not a number in range (SPEC §1)
    unpriceable,  // unpriceable_request: the price depends on a body that does not parse (SPEC §5)
};
std::string_view to_string(pricing_error error);

struct cost_estimate {
    money amount;       // what to reserve
    money from_rules;   // what the rules say
    bool client_cap = false;  // the client's max_cost_param set the reservation
    // The cost rules that priced the call, one bit per rule index (mod 64): calls priced by the
    // same rules share the drift memory of SPEC §5.
    std::uint64_t rules_matched = 0;
    pricing_error error = pricing_error::none;
    std::string message;  // why, when error is set
    bool ok() const { return error == pricing_error::none; }
};

cost_estimate estimate_cost(const vendor_profile& profile, const request_facts& facts);

// The API key of a request, per the profile's auth list; nullopt when it carries none.
using header_lookup = std::function<std::optional<std::string_view>(std::string_view name)>;
std::optional<std::string> find_api_key(const vendor_profile& profile, const std::vector<query_param>& query,
                                        const header_lookup& header);

struct response_facts {
    unsigned status = 0;
    header_lookup header;   // case-insensitive
    std::string_view body;  // inflated; only as much as was inspected
    const json* body_json = nullptr;  // parsed body, when it parsed
    // The whole body was read and decoded for inspection. When a rule needed it and it could
    // not be (too large, the vendor failed mid-answer, undecodable), the call settles at its
    // estimate, never at 0 (SPEC §4).
    bool body_complete = true;
};

struct balance_context {
    std::optional<money> previous_reading;  // the account's last reading before this call
    bool sole_call_in_flight = false;       // nothing else ran on the account since that reading
};

enum class settlement_basis { out_of_credit, cost_header, balance_delta, unsuccessful, body, estimate, not_charged };
std::string_view to_string(settlement_basis basis);

struct settlement {
    money actual;
    settlement_basis basis = settlement_basis::not_charged;
    bool out_of_credit = false;
    std::optional<money> balance_reading;       // from the balance header
    std::optional<money> requests_remaining;    // from the requests-remaining header
};

settlement settle_cost(const vendor_profile& profile, money estimate, const response_facts& facts,
                       const balance_context& balance);

// Whether settling an answer with this status and these headers can depend on its body, so
// that the proxy holds a body back for inspection only when it matters.
bool settlement_reads_body(const vendor_profile& profile, unsigned status, const header_lookup& header);

}  // namespace creditgate::policies
