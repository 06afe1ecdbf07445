#pragma once
// upstream_connector: from a host name to a connected (and, for TLS, verified) upstream, for
// metered calls, blind tunnels and balance polls alike. Every destination is resolved once and
// only addresses the destination guard accepts are dialled: the address checked is the address
// used. Failures are values; what to answer a client is the exchange's business.

#include "proxy/net/endpoint.hpp"
#include "proxy/net/upstream_pool.hpp"

#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace creditgate::proxy {

// How this config dials: `resolve` pins, whether private ranges are allowed, the upstream TLS
// context and the connect timeout. Built once per config (runtime).
struct dial_policy {
    std::function<const endpoint*(std::string_view host, std::uint16_t port)> pinned;
    bool allow_private = false;
    std::shared_ptr<asio::ssl::context> tls;
    std::chrono::seconds connect_timeout{10};
};

struct dial_target {
    std::string host;  // normalised name: SNI, certificate name, pool key
    std::uint16_t port = 0;
    bool tls = false;
};

struct dial_failure {
    enum class kind { not_allowed, error, timeout } what = kind::error;
    std::string message;
};

struct dial_result {
    std::unique_ptr<upstream_connection> connection;
    std::optional<dial_failure> failure;
};

task<dial_result> dial_upstream(asio::io_context& io, const dial_policy& policy, const dial_target& target);

}  // namespace creditgate::proxy
