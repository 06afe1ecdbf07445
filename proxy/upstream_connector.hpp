#pragma once
// upstream_connector: from a host name to a connected (and, for TLS, verified) upstream.
// Every destination is resolved once and only addresses the destination guard accepts are
// dialled: the address checked is the address used.

#include "proxy/refusal.hpp"
#include "proxy/runtime.hpp"
#include "proxy/upstream_pool.hpp"

#include <memory>
#include <optional>
#include <vector>

namespace creditgate::proxy {

struct checked_endpoints {
    std::vector<tcp::endpoint> endpoints;
    std::optional<refusal> failure;  // 403 destination_not_allowed or 502 upstream_error
};

task<checked_endpoints> resolve_checked(asio::io_context& io, const runtime& rt, std::string_view host,
                                        std::uint16_t port);

struct dial_target {
    std::string host;  // normalised name: SNI, certificate name, pool key
    std::uint16_t port = 0;
    bool tls = false;
};

struct dial_result {
    std::unique_ptr<upstream_connection> connection;
    std::optional<refusal> failure;  // 403, 502 upstream_error or 504 upstream_timeout
};

task<dial_result> dial_upstream(asio::io_context& io, const runtime& rt, const dial_target& target);

}  // namespace creditgate::proxy
