#pragma once
// http_fetch: one HTTP/1.1 request on a fresh connection (dialed like every upstream: pins,
// TLS verification, connect timeout) and its whole answer. For the rare requests creditgate
// makes on its own — balance checks and alert webhooks — never a pooled connection a call could use.

#include "proxy/net/upstream_connector.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace creditgate::proxy {

struct fetch_request {
    std::string method = "GET";
    std::string host;  // normalised name
    std::uint16_t port = 0;
    bool tls = false;
    std::string target;  // origin-form
    std::vector<std::pair<std::string, std::string>> headers;
    std::optional<std::string> body;  // sent as application/json
};

struct fetch_result {
    unsigned status = 0;
    std::string body;
    std::optional<std::int64_t> retry_after_s;
    std::string error;  // a transport failure (no status)
};

// `timeout` bounds the sending and the answer each; the dial has the policy's own.
task<fetch_result> http_fetch(asio::io_context& io, const dial_policy& policy, const fetch_request& request,
                              std::chrono::seconds timeout);

}  // namespace creditgate::proxy
