#pragma once
// refusal_code: the codes of creditgate's own refusals — SPEC §5's table, a closed set — with the
// HTTP status each one answers with. The JSON body says the code, and so does X-Creditgate-Error.

#include <string_view>

namespace creditgate::policies {

enum class refusal_code : unsigned char {
    bad_request,
    unpriceable_request,
    budget_exhausted,
    upstream_credits_exhausted,
    destination_not_allowed,
    mitm_disabled,
    unregistered_key,
    proxy_auth_required,
    request_timeout,
    body_too_large,
    headers_too_large,
    misdirected_request,
    concurrency_limit,
    rate_limited,
    queue_timeout,
    queue_full,
    upgrade_not_supported,
    upstream_error,
    upstream_timeout,
    shutting_down,
    storage_unavailable,
    max_cost_exceeded,
};

std::string_view to_string(refusal_code code);
unsigned http_status(refusal_code code);

}  // namespace creditgate::policies
