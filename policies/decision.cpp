#include "policies/decision.hpp"
#include "policies/refusal_code.hpp"

#include <array>

namespace creditgate::policies {
namespace {

constexpr std::array<std::string_view, 9> decision_names{
    "pending", "allowed", "queued_allowed", "rejected", "queue_timeout", "shadow_would_reject",
    "upstream_error", "upstream_timeout", "client_aborted"};

struct code_entry {
    std::string_view name;
    unsigned status;
};
// In refusal_code order.
constexpr std::array<code_entry, 22> codes{{
    {"bad_request", 400},
    {"unpriceable_request", 400},
    {"budget_exhausted", 402},
    {"upstream_credits_exhausted", 402},
    {"destination_not_allowed", 403},
    {"mitm_disabled", 403},
    {"unregistered_key", 403},
    {"proxy_auth_required", 407},
    {"request_timeout", 408},
    {"body_too_large", 413},
    {"headers_too_large", 431},
    {"misdirected_request", 421},
    {"concurrency_limit", 429},
    {"rate_limited", 429},
    {"queue_timeout", 429},
    {"queue_full", 429},
    {"upgrade_not_supported", 501},
    {"upstream_error", 502},
    {"upstream_timeout", 504},
    {"shutting_down", 503},
    {"storage_unavailable", 503},
    {"max_cost_exceeded", 402},
}};

}  // namespace

std::string_view to_string(decision d) { return decision_names[static_cast<std::size_t>(d)]; }

std::optional<decision> parse_decision(std::string_view text) {
    for (std::size_t i = 0; i < decision_names.size(); ++i)
        if (decision_names[i] == text) return static_cast<decision>(i);
    return std::nullopt;
}

bool is_rejection(decision d) { return d == decision::rejected || d == decision::queue_timeout; }

bool was_answered(decision d) {
    return d == decision::allowed || d == decision::queued_allowed || d == decision::shadow_would_reject;
}

std::string_view to_string(refusal_code code) { return codes[static_cast<std::size_t>(code)].name; }
unsigned http_status(refusal_code code) { return codes[static_cast<std::size_t>(code)].status; }

}  // namespace creditgate::policies
