#include "proxy/net/upstream_connector.hpp"

#include "certs/upstream_tls.hpp"
#include "proxy/net/destination_guard.hpp"

#include <boost/beast/core/error.hpp>

#include <boost/asio/ssl/error.hpp>

#include <openssl/x509.h>
#include <spdlog/spdlog.h>

namespace creditgate::proxy {
namespace {

dial_failure failed(dial_failure::kind what, std::string message) { return {what, std::move(message)}; }

struct checked_endpoints {
    std::vector<tcp::endpoint> endpoints;
    std::optional<dial_failure> failure;
};

task<checked_endpoints> resolve_checked(asio::io_context& io, const dial_policy& policy, std::string_view host,
                                        std::uint16_t port) {
    checked_endpoints out;
    const endpoint* pin = policy.pinned ? policy.pinned(host, port) : nullptr;
    const std::string name = pin ? pin->host : std::string(host);
    const std::uint16_t dial_port = pin ? pin->port : port;
    // A host pinned in `resolve` is the operator's explicit choice; so is allowing private ranges.
    const bool trusted = pin != nullptr || policy.allow_private;

    std::vector<asio::ip::address> addresses;
    error_code ec;
    const auto literal = asio::ip::make_address(name, ec);
    if (!ec) {
        addresses.push_back(literal);
    } else {
        tcp_resolver resolver(io);
        auto [rec, results] = co_await resolver.async_resolve(name, std::to_string(dial_port), use_nothrow);
        if (rec) {
            out.failure = failed(dial_failure::kind::error, "cannot resolve " + name + ": " + rec.message());
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
        out.failure = failed(dial_failure::kind::not_allowed,
                             std::string(host) + " resolves to " + refused +
                                 ", which creditgate does not dial unless \"resolve\" names the host or "
                                 "allow_private_destinations is set");
    }
    co_return out;
}

// The TLS handshake of a connected upstream, with the certificate checked for `host`.
task<std::optional<dial_failure>> handshake(upstream_connection& connection, const dial_policy& policy,
                                            const dial_target& target, const std::string& where) {
    connection.tls_context = policy.tls;
    connection.stream.use_tls(*connection.tls_context);
    SSL* ssl = connection.stream.tls().native_handle();
    if (!certs::prepare_upstream_ssl(ssl, target.host, &connection.key))
        co_return failed(dial_failure::kind::error, "cannot set up TLS for " + target.host);
    auto [hec] = co_await connection.stream.tls().async_handshake(tls_stream::role::client, use_nothrow);
    if (!hec) {
        if (SSL_session_reused(ssl)) spdlog::debug("upstream TLS session resumed for {}", where);
        co_return std::nullopt;
    }
    if (hec == beast::error::timeout) co_return failed(dial_failure::kind::timeout, "TLS handshake with " + where + " timed out");
    const long verify = SSL_get_verify_result(ssl);
    const std::string why = verify != X509_V_OK ? std::string("certificate not accepted: ") + X509_verify_cert_error_string(verify)
                                                : hec.message();
    co_return failed(dial_failure::kind::error, "TLS handshake with " + where + " failed: " + why);
}

}  // namespace

task<dial_result> dial_upstream(asio::io_context& io, const dial_policy& policy, const dial_target& target) {
    dial_result out;
    auto checked = co_await resolve_checked(io, policy, target.host, target.port);
    if (checked.failure) {
        out.failure = std::move(checked.failure);
        co_return out;
    }
    auto connection = std::make_unique<upstream_connection>(io);
    connection->key = upstream_key(target.tls, target.host, target.port);
    tcp_stream& link = connection->stream.tcp();
    const std::string where = target.host + ":" + std::to_string(target.port);

    link.expires_after(policy.connect_timeout);  // the TLS handshake too
    auto [ec, endpoint_used] = co_await link.async_connect(checked.endpoints, use_nothrow);
    if (ec) {
        out.failure = ec == beast::error::timeout
                          ? failed(dial_failure::kind::timeout, "no connection to " + where + " within " +
                                                                    std::to_string(policy.connect_timeout.count()) + " s")
                          : failed(dial_failure::kind::error, "cannot connect to " + where + ": " + ec.message());
        co_return out;
    }
    error_code ignored;
    link.socket().set_option(tcp::no_delay(true), ignored);
    if (target.tls) {
        if ((out.failure = co_await handshake(*connection, policy, target, where))) co_return out;
    }
    link.expires_never();
    out.connection = std::move(connection);
    co_return out;
}

}  // namespace creditgate::proxy
