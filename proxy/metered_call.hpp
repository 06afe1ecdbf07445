#pragma once
// metered_call: the metering steps of one exchange that do not depend on the client's stream
// type — which account a request bills, admission (waiting in the budget queue if need be),
// and settlement from the vendor's answer.

#include "policies/admission.hpp"
#include "policies/cost_model.hpp"
#include "proxy/flat_message.hpp"
#include "proxy/refusal.hpp"
#include "proxy/request_target.hpp"
#include "proxy/worker.hpp"

#include <optional>
#include <string>
#include <vector>

namespace creditgate::proxy {

struct call_plan {
    std::vector<policies::query_param> query;
    std::string account = "unregistered";       // the account id this call bills
    std::optional<std::string> injected_key;    // the key we add for an inject account
    std::optional<refusal> refused;             // unregistered_key
};

// Case-insensitive field lookup over a parsed head, as the cost model reads headers.
policies::header_lookup lookup_in(const flat_fields& fields);

call_plan plan_call(const runtime& rt, const policies::vendor_profile& vendor, const absolute_target& target,
                    const flat_fields& request_fields);

// The origin-form target with an injected query key, or unchanged.
std::string target_with_key(const absolute_target& target, const policies::vendor_profile& vendor, const call_plan& plan);

// Admission; a queued call waits here (without holding the thread) until admitted or timed out.
struct admitted_call {
    policies::admission decision;       // outcome admitted, with its reservation
    policies::money estimate;           // vendor units
    std::optional<refusal> refused;     // otherwise: the refusal to send
    std::string decision_name = "allowed";  // allowed | queued_allowed | rejected | queue_timeout | shadow_would_reject
};
task<admitted_call> admit_call(worker& w, policies::metering& metering, const policies::call_facts& facts);

refusal to_refusal(const policies::refusal_detail& detail);

// gzip/deflate inflated for inspection (never sent on); nullopt for other codings, for data that
// is truncated or corrupt, and for a body that inflates past `limit` (a gzip bomb).
std::optional<std::string> inflate_for_inspection(std::string_view encoding, std::string_view bytes, std::size_t limit);

// Settles a call from the vendor's answer: commits the reservation, records balance readings
// and the exhausted mark. Returns the settlement (actual in the vendor's unit).
policies::settlement settle_call(policies::metering& metering, const policies::vendor_profile& vendor,
                                 admitted_call& call, std::optional<std::size_t> account, unsigned status,
                                 const flat_fields& response_fields, std::string_view inspected_body,
                                 bool body_complete);

}  // namespace creditgate::proxy
