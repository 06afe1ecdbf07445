// A session's CONNECTs: a passthrough host is tunnelled blind (dialled through the same connector
// as metered calls), a vendor host is intercepted — the client's TLS is taken with a leaf for that
// host, and the requests inside are served by a session of their own over that TLS.
#include "proxy/exchange/session.hpp"

#include "certs/intercept_tls.hpp"
#include "proxy/exchange/refuse.hpp"
#include "proxy/exchange/access_log.hpp"
#include "proxy/exchange/client_io.hpp"
#include "proxy/net/connect_tunnel.hpp"
#include "proxy/net/connection_close.hpp"
#include "proxy/net/upstream_connector.hpp"

#include <spdlog/spdlog.h>

namespace creditgate::proxy {
namespace {

constexpr std::string_view established = "HTTP/1.1 200 Connection Established\r\n\r\n";

}  // namespace

task<void> session::tunnel(request_parser& parser, const policies::authority& where, exchange_record& record) {
    const auto& limits = runtime_->limits();
    // Named, not a braced temporary in the co_await: GCC 12 destroys such a temporary wrongly
    // (AddressSanitizer: a free of what was never allocated).
    const dial_target target{where.host, where.port, false};
    auto dialed = co_await dial_upstream(worker_.io(), runtime_->dialing(), target);
    if (dialed.failure) {
        co_await refuse(parser, record, from_dial(*dialed.failure));
        co_return;
    }
    tcp_stream& upstream = dialed.connection->stream.tcp();
    const asio::const_buffer reply = asio::buffer(established);
    if (co_await write_all(stream_, std::span(&reply, 1), seconds(limits.client_idle_s))) co_return;
    record.status = 200;
    record.end = exchange_record::ending::tunnel;
    // Bytes the client sent after the CONNECT head (a TLS ClientHello, often) go first.
    const std::size_t early_bytes = buffer_.size();
    if (early_bytes > 0) {
        const asio::const_buffer leftover = buffer_.data();
        if (co_await write_all(upstream, std::span(&leftover, 1), seconds(limits.upstream_idle_s))) co_return;
        buffer_.consume(buffer_.size());
    }
    tcp_layer(stream_).expires_never();
    upstream.expires_never();
    auto stats = co_await run_tunnel(stream_.socket(), upstream.socket(), seconds(limits.client_idle_s));
    log_tunnel(record, early_bytes + stats.client_to_upstream, stats.upstream_to_client, stats.idle_timeout);
    record.keep_alive = false;
}

// CONNECT to a vendor: answer 200, take the client's TLS with a leaf for that host, and serve the
// requests inside with a session over the TLS stream.
task<void> session::intercept(request_parser& parser, const policies::authority& where, exchange_record& record) {
    const auto& limits = runtime_->limits();
    std::string error;
    auto leaf = runtime_->leaves()->get(where.host, error);
    if (!leaf) {
        spdlog::error("interception of {} failed: {}", where.host, error);
        co_await refuse(parser, record, make_refusal(policies::refusal_code::upstream_error, "cannot mint a certificate for " + where.host));
        co_return;
    }
    const asio::const_buffer reply = asio::buffer(established);
    if (co_await write_all(stream_, std::span(&reply, 1), seconds(limits.client_idle_s))) co_return;
    record.status = 200;
    record.end = exchange_record::ending::intercepted;
    record.keep_alive = false;
    report(record);
    record.reported = true;  // the CONNECT is logged when its tunnel opens, not when it closes

    intercepted_stream tls(stream_.tcp(), *runtime_->intercept_tls());
    if (!certs::prepare_intercept_ssl(tls.native_handle(), *leaf, &where.host)) co_return;
    if (!co_await intercept_handshake(tls, where)) co_return;
    const tunnel_origin origin{record.client, where, cached_credentials_, runtime_.get()};
    bool quiet = false;
    {
        session inner(worker_, client_stream(stream_.tcp(), tls), &origin);
        co_await inner.run();
        quiet = inner.ended_quietly();
    }
    // Our close_notify goes out; the client's is not waited for (RFC 8446 6.1 does not ask the side
    // that closes to wait, nor does nginx). Nothing may wait here anyway: the last answer is held
    // for the close (deadline_stream::hold_until_close), and leaves with this close_notify and the
    // FIN in one segment.
    SSL_set_shutdown(tls.native_handle(), SSL_RECEIVED_SHUTDOWN);
    stream_.tcp().expires_after(std::chrono::seconds(2));
    const auto [ec_shutdown] = co_await tls.async_shutdown(use_nothrow);
    if (ec_shutdown) stream_.tcp().close();  // the connection is gone, or timed out
    else co_await close_connection(stream_.tcp(), quiet);
}

task<bool> session::intercept_handshake(intercepted_stream& tls, const policies::authority& where) {
    stream_.tcp().expires_after(seconds(runtime_->limits().header_read_s));
    // The ClientHello may have come with the CONNECT head: hand those bytes to the handshake.
    auto [ec] = co_await tls.async_handshake(tls_stream::role::server, buffer_.data(), use_nothrow);
    buffer_.consume(buffer_.size());  // the stream took a copy
    if (ec) spdlog::debug("client handshake for {} failed: {}", where.host, ec.message());
    co_return !ec;
}

}  // namespace creditgate::proxy
