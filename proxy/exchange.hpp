#pragma once
// exchange: what one request/response through the proxy was, for the access log and
// (later) the ledger. Filled in as the exchange goes.

#include "policies/money.hpp"
#include "proxy/proxy_auth.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

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
    std::string outcome;           // a refusal code, "client_aborted", or empty for a forwarded call
    bool keep_alive = false;       // the client connection may carry another request
    bool reported = false;         // its access line and counts are out already (an intercepted CONNECT)

    // Metering (vendor calls only).
    std::string vendor;
    std::string account;
    std::string decision;          // allowed, queued_allowed, rejected, queue_timeout, shadow_would_reject, ...
    std::optional<policies::money> cost;  // settled, in the vendor's unit
};

}  // namespace creditgate::proxy
