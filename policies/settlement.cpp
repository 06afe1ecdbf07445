#include "policies/settlement.hpp"

#include "policies/json_values.hpp"

#include <algorithm>

namespace creditgate::policies {
namespace {

bool json_equals(const json& got, const json& expected) {
    if (is_decimal(expected)) {
        const auto want = money::parse(expected.begin()->get<std::string>());
        const auto have = numeric_amount(got);
        return want && have && *want == *have;
    }
    if (expected.is_number() && got.is_number()) return numeric_amount(got) == numeric_amount(expected);
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

// A vendor's amount header: a valid amount within SPEC §1's range, or nothing (the rule that
// reads it then does not apply).
std::optional<money> header_amount(const response_facts& f, const std::optional<std::string>& name) {
    if (!name || !f.header) return std::nullopt;
    auto value = f.header(*name);
    if (!value) return std::nullopt;
    std::string_view v = *value;
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    return money::parse_amount(v, money::excess_digits::round_half_even);
}

bool charged_status(const cost_spec& c, unsigned status) {
    if (c.charge_on_status.empty()) return status >= 200 && status < 300;
    return std::find(c.charge_on_status.begin(), c.charge_on_status.end(), status) != c.charge_on_status.end();
}

}  // namespace

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
    // 4. The vendor's own success flag says the call failed (a body not read whole says nothing).
    if (r.success && facts.body_complete && !signal_holds(*r.success, facts)) {
        out.basis = settlement_basis::unsuccessful;
        return out;
    }
    // 5. A charged status: the body's count, else the estimate.
    if (charged_status(profile.cost, facts.status)) {
        if (r.actual_from_body && facts.body_complete) {
            if (const json* count = at_pointer(facts.body_json, r.actual_from_body->count)) {
                std::optional<money> n;
                if (count->is_array()) n = money::units(static_cast<std::int64_t>(count->size()));
                else n = numeric_amount(*count);
                if (n && !n->is_negative()) {
                    if (auto total = n->times(r.actual_from_body->each, money::rounding::half_even); total && total->in_range()) {
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
