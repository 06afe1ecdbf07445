#pragma once
// exchange_record: what one request/response through the proxy was, for the access log and the
// counters. Filled in as the exchange goes, read once when it ends.

#include "policies/decision.hpp"
#include "policies/money.hpp"
#include "policies/refusal_code.hpp"
#include "proxy/admin/metrics.hpp"
#include "proxy/config/proxy_auth.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::proxy {

struct exchange_record {
    std::string request_id;
    const client_identity* client = nullptr;
    std::string method;
    std::string host;
    std::string path;  // never the query: API keys travel there
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

    unsigned status = 0;           // what the client got; 0 = nothing (it left first)
    std::uint64_t bytes_sent = 0;  // response body bytes to the client
    // How it ended besides its status: forwarded, refused (with its code), or cut short.
    enum class ending : unsigned char { forwarded, refused, client_aborted, upstream_error, upstream_timeout, tunnel, intercepted };
    ending end = ending::forwarded;
    policies::refusal_code refusal = policies::refusal_code::bad_request;  // when refused
    bool keep_alive = false;       // the client connection may carry another request
    bool reported = false;         // its access line and counts are out already (an intercepted CONNECT)

    // Metering (vendor calls only).
    std::string vendor;
    std::string account;  // policies::account_ref::name()
    std::optional<policies::decision> decision;
    std::optional<policies::money> cost;  // settled, in the vendor's unit
    std::optional<policies::money> cost_usd;  // the same in dollars, when the vendor has usd_per_unit

    void refused(policies::refusal_code code) {
        end = ending::refused;
        refusal = code;
    }
};

// The access log's "outcome": the refusal code, how the exchange was cut short, or "" when forwarded.
std::string_view outcome_name(const exchange_record& r);
// What the counters (admin/metrics) take of a finished exchange.
exchange_counts counts_of(const exchange_record& r, std::chrono::steady_clock::duration elapsed);

}  // namespace creditgate::proxy
