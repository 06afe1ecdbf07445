#pragma once
// decision: how a metered call ended — SPEC §7's closed set, with the one spelling the ledger, the
// metrics, the logs and the admin views all use.

#include <optional>
#include <string_view>

namespace creditgate::policies {

enum class decision : unsigned char {
    pending,              // admitted and not finished: the ledger's row written at admission
    allowed,
    queued_allowed,
    rejected,             // refused by a budget or the account's known balance
    queue_timeout,
    shadow_would_reject,  // admitted; a shadow budget would have refused it
    upstream_error,
    upstream_timeout,
    client_aborted,
};

std::string_view to_string(decision d);
std::optional<decision> parse_decision(std::string_view text);

// Refused by a budget: the `rejected` column of usage rows (SPEC §8).
bool is_rejection(decision d);
// Forwarded and answered by the vendor: succeeded when the status is 1xx-3xx, else failed.
bool was_answered(decision d);

}  // namespace creditgate::policies
