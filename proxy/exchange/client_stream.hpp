#pragma once
// client_stream: a client connection, plain or inside an intercepted CONNECT (TLS over the same
// TCP stream), behind one type (plain_or_tls) — so that the session loop, the metered exchange and
// refusals are compiled once, as upstream_stream does for the vendor side.

#include "proxy/net/plain_or_tls.hpp"

namespace creditgate::proxy {

// TLS over the client's own TCP stream.
using intercepted_stream = tls_stream;

class client_stream : public plain_or_tls<client_stream> {
public:
    explicit client_stream(tcp_stream& tcp) : tcp_(tcp) {}
    client_stream(tcp_stream& tcp, intercepted_stream& tls) : tcp_(tcp), tls_(&tls) {}

    tcp_stream& tcp() noexcept { return tcp_; }
    tcp_socket& socket() noexcept { return tcp_.socket(); }
    intercepted_stream* tls() noexcept { return tls_; }  // null for a plain client

    tcp_stream& tcp_layer_of() noexcept { return tcp_; }
    intercepted_stream* tls_layer_of() noexcept { return tls_; }

private:
    tcp_stream& tcp_;
    intercepted_stream* tls_ = nullptr;
};

inline tcp_stream& tcp_layer(client_stream& s) { return s.tcp(); }

}  // namespace creditgate::proxy
