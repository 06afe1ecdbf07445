#pragma once
// call_plan: who pays for a metered request — the account its API key names, an unregistered key
// (metered, or refused with unregistered_keys: "refuse"), or the account that injects its key into
// a request that has none — and the origin-form target as the vendor gets it.

#include "policies/account_ref.hpp"
#include "policies/cost_model.hpp"
#include "policies/metering.hpp"
#include "policies/request_target.hpp"
#include "proxy/exchange/refusal.hpp"
#include "proxy/net/flat_message.hpp"

#include <optional>
#include <string>
#include <vector>

namespace creditgate::proxy {

struct call_plan {
    std::vector<policies::query_param> query;
    policies::account_ref account;            // who pays
    std::optional<std::string> injected_key;  // the key we add for an inject account (secret)
    std::optional<refusal> refused;           // unregistered_key
};

// Case-insensitive field lookup over a parsed head, as the cost model reads headers.
policies::header_lookup lookup_in(const flat_fields& fields);

call_plan plan_call(const policies::metering& books, bool refuse_unregistered, const policies::vendor_profile& vendor,
                    const policies::absolute_target& target, const flat_fields& request_fields);

// The origin-form target with an injected query key, or unchanged.
std::string target_with_key(const policies::absolute_target& target, const policies::vendor_profile& vendor,
                            const call_plan& plan);

}  // namespace creditgate::proxy
