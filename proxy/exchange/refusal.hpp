#pragma once
// refusal: creditgate's own answers (SPEC §5) — a code from the closed set, a message, and what a
// client needs to act on it — rendered as the JSON body {"error": {"code", "message", ...}} with
// the code in X-Creditgate-Error too.

#include "policies/ledger.hpp"
#include "policies/refusal_code.hpp"
#include "proxy/net/upstream_connector.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::proxy {

struct refusal {
    policies::refusal_code code = policies::refusal_code::bad_request;
    std::string message;
    std::optional<std::int64_t> retry_after_s;  // whole seconds, at least 1
    nlohmann::json details = nlohmann::json::object();  // extra fields beside code and message

    unsigned status() const { return policies::http_status(code); }
};

refusal make_refusal(policies::refusal_code code, std::string message);
// The books' refusal, with the budget's figures in its body.
refusal from_books(const policies::refusal_detail& detail);
// A vendor (or a passthrough host) that could not be dialled: 403, 502 or 504.
refusal from_dial(const dial_failure& failure);

// The complete response. `keep_alive` false adds "Connection: close".
std::string render_refusal(const refusal& r, std::string_view request_id, unsigned version, bool keep_alive);

}  // namespace creditgate::proxy
