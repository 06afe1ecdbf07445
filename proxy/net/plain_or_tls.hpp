#pragma once
// plain_or_tls: the reads and writes of a connection that is plain TCP, or TLS over that TCP,
// decided at run time — one stream type, so that the relay and exchange code is compiled once for
// both. `Derived` names the layers: tcp_layer_of() and tls_layer_of() (null when plain).

#include "proxy/net/deadline_stream.hpp"
#include "proxy/net/tls_stream.hpp"

#include <boost/asio/async_result.hpp>

namespace creditgate::proxy {

template <class Derived>
class plain_or_tls {
public:
    using executor_type = tcp_stream::executor_type;

    executor_type get_executor() noexcept { return self().tcp_layer_of().get_executor(); }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (auto* tls = self().tls_layer_of()) tls->async_read_some(b, std::move(handler));
                else self().tcp_layer_of().async_read_some(b, std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (auto* tls = self().tls_layer_of()) tls->async_write_some(b, std::move(handler));
                else self().tcp_layer_of().async_write_some(b, std::move(handler));
            },
            token, buffers);
    }

private:
    Derived& self() { return static_cast<Derived&>(*this); }
};

}  // namespace creditgate::proxy
