#include "proxy/upstream_connector.hpp"

#include "certs/upstream_tls.hpp"
#include "proxy/destination_guard.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace creditgate::proxy {
namespace {

refusal upstream_error(std::string message) { return make_refusal(502, "upstream_error", std::move(message)); }

}  // namespace

task<checked_endpoints> resolve_checked(asio::io_context& io, const runtime& rt, std::string_view host,
                                        std::uint16_t port) {
    checked_endpoints out;
    const endpoint* pin = rt.pinned(host, port);
    const std::string name = pin ? pin->host : std::string(host);
    const std::uint16_t dial_port = pin ? pin->port : port;
    // A host pinned in `resolve` is the operator's explicit choice; so is allowing private ranges.
    const bool trusted = pin != nullptr || rt.cfg().allow_private_destinations;

    std::vector<asio::ip::address> addresses;
    error_code ec;
    const auto literal = asio::ip::make_address(name, ec);
    if (!ec) {
        addresses.push_back(literal);
    } else {
        tcp_resolver resolver(io);
        auto [rec, results] = co_await resolver.async_resolve(name, std::to_string(dial_port), use_nothrow);
        if (rec) {
            out.failure = upstream_error("cannot resolve " + name + ": " + rec.message());
            co_return out;
        }
        for (const auto& entry : results) addresses.push_back(entry.endpoint().address());
    }
    std::string refused;
    for (const auto& address : addresses) {
        const address_class cls = classify(address);
        if (trusted || is_dialable_by_default(cls)) {
            out.endpoints.emplace_back(address, dial_port);
        } else if (refused.empty()) {
            refused = address.to_string() + " (" + std::string(to_string(cls)) + ")";
        }
    }
    if (out.endpoints.empty()) {
        out.failure = make_refusal(403, "destination_not_allowed",
                                   std::string(host) + " resolves to " + refused +
                                       ", which creditgate does not dial unless \"resolve\" names the host or "
                                       "allow_private_destinations is set");
    }
    co_return out;
}

task<dial_result> dial_upstream(asio::io_context& io, const runtime& rt, const dial_target& target) {
    dial_result out;
    auto checked = co_await resolve_checked(io, rt, target.host, target.port);
    if (checked.failure) {
        out.failure = std::move(checked.failure);
        co_return out;
    }
    auto connection = std::make_unique<upstream_connection>(io);
    connection->key = upstream_key(target.tls, target.host, target.port);
    tcp_stream& tcp_stream = connection->stream.tcp();
    const auto limit = seconds(rt.limits().upstream_connect_s);
    const std::string where = target.host + ":" + std::to_string(target.port);

    tcp_stream.expires_after(limit);
    auto [ec, endpoint_used] = co_await tcp_stream.async_connect(checked.endpoints, use_nothrow);
    if (ec == beast::error::timeout) {
        out.failure = make_refusal(504, "upstream_timeout",
                                   "no connection to " + where + " within " + std::to_string(limit.count()) + " s");
        co_return out;
    }
    if (ec) {
        out.failure = upstream_error("cannot connect to " + where + ": " + ec.message());
        co_return out;
    }
    error_code ignored;
    tcp_stream.socket().set_option(tcp::no_delay(true), ignored);

    if (target.tls) {
        connection->tls_context = rt.upstream_tls();
        connection->stream.use_tls(*connection->tls_context);
        SSL* ssl = connection->stream.tls().native_handle();
        if (!certs::prepare_upstream_ssl(ssl, target.host, &connection->key)) {
            out.failure = upstream_error("cannot set up TLS for " + target.host);
            co_return out;
        }
        auto [hec] = co_await connection->stream.tls().async_handshake(asio::ssl::stream_base::client, use_nothrow);
        if (hec) {
            const long verify = SSL_get_verify_result(ssl);
            std::string why = verify != X509_V_OK ? std::string("certificate not accepted: ") +
                                                        X509_verify_cert_error_string(verify)
                              : hec == beast::error::timeout ? "timed out"
                                                             : hec.message();
            if (hec == beast::error::timeout)
                out.failure = make_refusal(504, "upstream_timeout", "TLS handshake with " + where + " timed out");
            else
                out.failure = upstream_error("TLS handshake with " + where + " failed: " + why);
            co_return out;
        }
    }
    if (target.tls && SSL_session_reused(connection->stream.tls().native_handle()))
        spdlog::debug("upstream TLS session resumed for {}", where);
    tcp_stream.expires_never();
    out.connection = std::move(connection);
    co_return out;
}

}  // namespace creditgate::proxy
