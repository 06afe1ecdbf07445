#pragma once
// upstream_stream: a connection to a vendor, plain or TLS, behind one stream type, so that
// the relay code is compiled once for both kinds of upstream.

#include "proxy/deadline_stream.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <optional>

namespace creditgate::proxy {

class upstream_stream {
public:
    using executor_type = tcp_stream::executor_type;

    explicit upstream_stream(asio::io_context& ioc) : tcp_(ioc) {}
    upstream_stream(const upstream_stream&) = delete;  // the TLS layer refers to tcp_
    upstream_stream& operator=(const upstream_stream&) = delete;

    executor_type get_executor() noexcept { return tcp_.get_executor(); }
    tcp_stream& tcp() noexcept { return tcp_; }
    tcp_socket& socket() noexcept { return tcp_.socket(); }

    // Switches to TLS over the connected socket; call before the handshake.
    void use_tls(asio::ssl::context& context) { tls_.emplace(tcp_, context); }
    bool is_tls() const noexcept { return tls_.has_value(); }
    beast::ssl_stream<tcp_stream&>& tls() { return *tls_; }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                if (tls_) tls_->async_read_some(b, std::move(handler));
                else tcp_.async_read_some(b, std::move(handler));
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                if (tls_) tls_->async_write_some(b, std::move(handler));
                else tcp_.async_write_some(b, std::move(handler));
            },
            token, buffers);
    }

private:
    tcp_stream tcp_;
    std::optional<beast::ssl_stream<tcp_stream&>> tls_;
};

}  // namespace creditgate::proxy
