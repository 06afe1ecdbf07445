#pragma once
// upstream_stream: a connection to a vendor, plain or TLS, behind one stream type (plain_or_tls),
// so that the relay code is compiled once for both kinds of upstream.

#include "proxy/net/plain_or_tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <optional>

namespace creditgate::proxy {

class upstream_stream : public plain_or_tls<upstream_stream> {
public:
    explicit upstream_stream(asio::io_context& ioc) : tcp_(ioc) {}
    upstream_stream(const upstream_stream&) = delete;  // the TLS layer refers to tcp_
    upstream_stream& operator=(const upstream_stream&) = delete;

    tcp_stream& tcp() noexcept { return tcp_; }
    tcp_socket& socket() noexcept { return tcp_.socket(); }

    // Switches to TLS over the connected socket; call before the handshake.
    void use_tls(asio::ssl::context& context) { tls_.emplace(tcp_, context); }
    bool is_tls() const noexcept { return tls_.has_value(); }
    tls_stream& tls() { return *tls_; }

    tcp_stream& tcp_layer_of() noexcept { return tcp_; }
    tls_stream* tls_layer_of() noexcept { return tls_ ? &*tls_ : nullptr; }

private:
    tcp_stream tcp_;
    std::optional<tls_stream> tls_;
};

}  // namespace creditgate::proxy
