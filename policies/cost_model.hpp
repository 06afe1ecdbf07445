#pragma once
// cost_model: what a call is expected to cost before it leaves — the profile's rules over the
// request (SPEC §4) — and where its API key is. Pure functions over facts; what it cost after is
// settlement.hpp's.

#include "policies/money.hpp"
#include "policies/refusal_code.hpp"
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

struct cost_estimate {
    money amount;       // what to reserve
    money from_rules;   // what the rules say
    bool client_cap = false;  // the client's max_cost_param set the reservation
    // The cost rules that priced the call, one bit per rule index (mod 64): calls priced by the
    // same rules share the drift memory of SPEC §5.
    std::uint64_t rules_matched = 0;
    // Why the call cannot be priced, answered with 400: bad_request (an amount from the client is
    // not a number in range, SPEC §1) or unpriceable_request (the price depends on a body that does
    // not parse, SPEC §5).
    std::optional<refusal_code> error;
    std::string message;  // why, when error is set
    bool ok() const { return !error; }
};

cost_estimate estimate_cost(const vendor_profile& profile, const request_facts& facts);

// The API key of a request, per the profile's auth list; nullopt when it carries none.
using header_lookup = std::function<std::optional<std::string_view>(std::string_view name)>;
std::optional<std::string> find_api_key(const vendor_profile& profile, const std::vector<query_param>& query,
                                        const header_lookup& header);

}  // namespace creditgate::policies
