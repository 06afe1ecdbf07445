#pragma once
// settlement: what a call cost, from the vendor's answer — SPEC §4's settlement rules, first match
// wins. A pure function: the metered call (metered_call.hpp) commits what it returns.

#include "policies/cost_model.hpp"
#include "policies/money.hpp"
#include "policies/vendor_profile.hpp"

#include <optional>
#include <string_view>

namespace creditgate::policies {

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
