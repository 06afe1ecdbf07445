#include "proxy/client_session.hpp"

#include "proxy/client_reply.hpp"
#include "proxy/connect_tunnel.hpp"
#include "proxy/connection_close.hpp"
#include "proxy/forwarder.hpp"
#include "proxy/logging.hpp"
#include "proxy/metrics.hpp"
#include "proxy/request_target.hpp"
#include "certs/intercept_tls.hpp"
#include "policies/host_pattern.hpp"
#include "proxy/upstream_connector.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <memory>
#include <type_traits>

namespace creditgate::proxy {
namespace {

constexpr std::size_t read_buffer_bytes = 16 * 1024;  // two recvmsg per request instead of four (DESIGN.md)
constexpr std::size_t scratch_bytes = 16 * 1024;

bool is_upgrade(const flat_fields& f) {
    if (f.find(http::field::upgrade) != f.end()) return true;
    auto it = f.find(http::field::connection);
    return it != f.end() && http::token_list{it->value()}.exists("upgrade");
}

// Inside an intercepted CONNECT: who opened it and which host it is for.
struct tunnel_origin {
    const client_identity* client;
    authority where;
};

// Whether a Host field names the CONNECT's authority (the default port may be left out).
bool names_authority(std::string_view host_field, const authority& where) {
    if (host_field.empty()) return true;  // HTTP/1.0 without Host: the tunnel says where
    std::string host(host_field);
    std::string port;
    if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos && host.find(':') == colon) {
        port = host.substr(colon + 1);
        host.resize(colon);
    }
    if (policies::normalize_host(host) != where.host) return false;
    return port.empty() ? where.port == 443 : port == std::to_string(where.port);
}

// State that lives as long as the connection.
template <class Stream>
class session {
public:
    session(worker& w, Stream& stream, const tunnel_origin* inside = nullptr)
        : worker_(w), stream_(stream), inside_(inside), scratch_(new char[scratch_bytes]) {
        buffer_.reserve(read_buffer_bytes);
    }

    task<void> run() {
        for (bool first = true;; first = false) {
            runtime_ = worker_.snapshot();
            const auto& limits = runtime_->limits();
            if (!first && buffer_.size() == 0) {
                // Between requests the client may idle for client_idle_s; the head then has header_read_s.
                tcp_layer(stream_).expires_after(seconds(limits.client_idle_s));
                auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(read_buffer_bytes), use_nothrow);
                if (ec) {
                    quiet_end_ = true;  // closed or idle between requests: nothing of theirs is unread
                    co_return;
                }
                buffer_.commit(n);
            }
            request_parser parser(request_head_);
            parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
            parser.body_limit(boost::none);
            error_code ec;
            if (auto parsed = parse_buffered_head(parser, buffer_)) {
                ec = *parsed;
            } else {
                tcp_layer(stream_).expires_after(seconds(limits.header_read_s));
                auto [read_ec, n] = co_await http::async_read_header(stream_, buffer_, parser, use_nothrow);
                ec = read_ec;
            }
            exchange_record record;
            record.request_id = worker_.next_request_id();
            if (ec) {
                co_await refuse_unreadable(ec, parser, record);
                co_return;
            }
            // The head is in. Every later read and write on the client sets its own deadline; none
            // applies while the call waits for a budget or for the vendor (queue_timeout_ms and
            // upstream_response_s bound those). Left in force, header_read_s would close the
            // connection under every vendor call slower than it (10 s by default).
            tcp_layer(stream_).expires_never();
            const auto& req = parser.get();
            record.method = req.method_string();
            if constexpr (std::is_same_v<Stream, intercepted_stream>) {
                // Read after the first head, the ticket goes out with the first answer; queued at the
                // handshake's end, the read of that head would have sent it alone.
                if (first) certs::queue_session_ticket(stream_.native_handle());
            }
            co_await handle(parser, record);
            if (!record.reported) report(record);
            if (!record.keep_alive) {
                quiet_end_ = parser.is_done() && buffer_.size() == 0;
                co_return;
            }
        }
    }

    // Whether the connection ended with nothing the client sent left unread: the last request was
    // read whole and nothing came after it, or the read between requests ended (the client closed,
    // or idled past client_idle_s). Then no lingering close is needed (close_connection).
    bool ended_quietly() const { return quiet_end_; }

private:
    // One exchange is over: its access line and its counts.
    void report(const exchange_record& record) {
        const auto elapsed = std::chrono::steady_clock::now() - record.started;  // one reading for both
        log_access(record, elapsed);
        if (auto* counters = worker_.state().counters) counters->record(record, elapsed);
    }

    task<void> refuse_unreadable(const error_code& ec, request_parser& parser, exchange_record& record) {
        if (!parser.got_some() && buffer_.size() == 0) co_return;  // closed or idle before a request: not an exchange
        if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof) {
            // A head that never completed: no answer helps; drop the connection.
            if (ec == beast::error::timeout) spdlog::debug("client header read timed out");
            co_return;
        }
        refusal r = ec == http::error::header_limit
                        ? make_refusal(431, "headers_too_large",
                                       "the request head exceeds " + std::to_string(runtime_->limits().header_bytes) + " bytes")
                        : make_refusal(400, "bad_request", "malformed request: " + ec.message());
        co_await send_refusal(stream_, r, record, 11, false, seconds(runtime_->limits().client_idle_s));
        report(record);
    }

    task<void> refuse(request_parser& parser, exchange_record& record, refusal r) {
        co_await refuse_request(stream_, buffer_, parser, r, record, refusal_context_for(worker_, *runtime_, scratch()));
    }

    std::span<char> scratch() { return {scratch_.get(), scratch_bytes}; }

    task<void> handle(request_parser& parser, exchange_record& record) {
        const auto& req = parser.get();
        if (worker_.state().draining.load(std::memory_order_relaxed)) {
            co_await refuse(parser, record, make_refusal(503, "shutting_down", "creditgate is shutting down"));
            co_return;
        }
        // Which Host is the destination, which credentials the caller? With two, nobody can say
        // which one each hop reads (SPEC §5): refused whatever their values.
        for (const auto field : {http::field::host, http::field::proxy_authorization}) {
            if (req.count(field) > 1) {
                co_await refuse(parser, record,
                                make_refusal(400, "bad_request", "more than one " + std::string(http::to_string(field)) + " field"));
                co_return;
            }
        }
        if (inside_) {
            co_await handle_inside(parser, record);
            co_return;
        }
        // Identity first: nothing about destinations is revealed to strangers.
        const std::string_view credentials = req[http::field::proxy_authorization];
        if (credentials.empty() || credentials != cached_credentials_) {
            cached_client_ = credentials.empty() ? nullptr : runtime_->clients().authenticate(credentials);
            cached_credentials_ = cached_client_ ? std::string(credentials) : std::string();
        }
        if (!cached_client_) {
            co_await refuse(parser, record,
                            make_refusal(407, "proxy_auth_required",
                                         credentials.empty() ? "proxy credentials required (Proxy-Authorization: Basic)"
                                                             : "wrong proxy credentials"));
            co_return;
        }
        record.client = cached_client_;

        if (req.method() == http::verb::connect) {
            if constexpr (std::is_same_v<Stream, tcp_stream>) {
                co_await handle_connect(parser, record);
            } else {
                co_await refuse(parser, record, make_refusal(400, "bad_request", "CONNECT inside a tunnel"));
            }
            co_return;
        }
        auto target = parse_absolute_target(req.target());
        if (!target) {
            co_await refuse(parser, record,
                            make_refusal(400, "bad_request",
                                         "creditgate is a forward proxy: send an absolute URL (http://host/path) as the target"));
            co_return;
        }
        co_await meter(parser, record, *target, false);
    }

    // A request inside an intercepted CONNECT: origin-form, already identified, and only for
    // the host the CONNECT named.
    task<void> handle_inside(request_parser& parser, exchange_record& record) {
        const auto& req = parser.get();
        record.client = inside_->client;
        if (req.method() == http::verb::connect) {
            co_await refuse(parser, record, make_refusal(400, "bad_request", "CONNECT inside a tunnel"));
            co_return;
        }
        const std::string_view raw = req.target();
        std::optional<absolute_target> target;
        if (!raw.empty() && raw.front() == '/') {
            target.emplace();
            target->https = true;
            target->where = inside_->where;
            target->explicit_port = inside_->where.port != 443;
            target->origin_form = std::string(raw.substr(0, raw.find('#')));
        } else {
            target = parse_absolute_target(raw);  // absolute-form inside a tunnel is allowed, for the same host
        }
        if (!target) {
            co_await refuse(parser, record, make_refusal(400, "bad_request", "malformed request target"));
            co_return;
        }
        if (target->where.host != inside_->where.host || target->where.port != inside_->where.port ||
            !names_authority(req[http::field::host], inside_->where)) {
            record.host = target->where.host;
            co_await refuse(parser, record,
                            make_refusal(421, "misdirected_request",
                                         "this connection is for " + inside_->where.to_string() + "; the request names another host"));
            co_return;
        }
        co_await meter(parser, record, *target, true);
    }

    task<void> meter(request_parser& parser, exchange_record& record, const absolute_target& target, bool client_tls) {
        const auto& req = parser.get();
        record.host = target.where.host;
        record.path = target.path();
        const policies::vendor_profile* vendor =
            target.where.is_ip_literal ? nullptr : runtime_->routes().vendor_for(target.where.host);
        if (!vendor) {
            co_await refuse(parser, record, not_a_vendor(target.where));
            co_return;
        }
        if (is_upgrade(req)) {
            co_await refuse(parser, record,
                            make_refusal(501, "upgrade_not_supported", "protocol upgrades (WebSocket) to vendors are not metered"));
            co_return;
        }
        if (req.find(http::field::transfer_encoding) != req.end() && (!parser.chunked() || transfer_coded(req))) {
            // Relayed chunked, a coding like gzip would be dropped: refused, not relayed unfaithfully.
            record.keep_alive = false;
            co_await send_refusal(stream_, make_refusal(400, "bad_request", "Transfer-Encoding must be exactly chunked"),
                                  record, req.version(), false, seconds(runtime_->limits().client_idle_s));
            co_return;
        }
        in_flight_guard in_flight(worker_.state());
        const forward_request request{target, *vendor, client_tls};
        co_await forward(worker_, *runtime_, stream_, buffer_, parser, request,
                         {std::span<char>(scratch_.get(), scratch_bytes), response_head_}, record);
    }

    refusal not_a_vendor(const authority& where) const {
        if (where.is_ip_literal)
            return make_refusal(403, "destination_not_allowed", where.host + " is an IP address; creditgate forwards to vendor host names only");
        return make_refusal(403, "destination_not_allowed", where.host + " is not a vendor creditgate meters");
    }

    task<void> handle_connect(request_parser& parser, exchange_record& record) {
        const auto& req = parser.get();
        auto where = parse_connect_target(req.target());
        if (!where) {
            co_await refuse(parser, record, make_refusal(400, "bad_request", "CONNECT needs host:port"));
            co_return;
        }
        record.host = where->host;
        const auto& routes = runtime_->routes();
        if (!where->is_ip_literal && routes.vendor_for(where->host)) {
            if (where->port != 443 && !runtime_->pinned(where->host, where->port)) {
                // A vendor's API is on 443; another port of its host is not metered and not dialled.
                co_await refuse(parser, record,
                                make_refusal(403, "destination_not_allowed",
                                             where->to_string() + ": vendor hosts are intercepted on port 443 only"));
                co_return;
            }
            if (!runtime_->leaves()) {
                // A vendor is never tunnelled blind: without interception its calls would go unmetered.
                co_await refuse(parser, record,
                                make_refusal(403, "mitm_disabled",
                                             where->host + " is a metered vendor; CONNECT to it needs TLS interception (tls.mitm), which is off"));
                co_return;
            }
            co_await intercept(*where, record);
            co_return;
        }
        if (!routes.is_passthrough(where->host)) {
            co_await refuse(parser, record, not_a_vendor(*where));
            co_return;
        }
        co_await tunnel(*where, record);
    }

    task<void> tunnel(const authority& where, exchange_record& record) {
        const auto& limits = runtime_->limits();
        auto checked = co_await resolve_checked(worker_.io(), *runtime_, where.host, where.port);
        if (checked.failure) {
            co_await send_refusal(stream_, *checked.failure, record, 11, false, seconds(limits.client_idle_s));
            co_return;
        }
        tcp_stream upstream(worker_.io());
        upstream.expires_after(seconds(limits.upstream_connect_s));
        auto [ec, used] = co_await upstream.async_connect(checked.endpoints, use_nothrow);
        if (ec) {
            refusal r = ec == beast::error::timeout
                            ? make_refusal(504, "upstream_timeout", "no connection to " + where.to_string())
                            : make_refusal(502, "upstream_error", "cannot connect to " + where.to_string() + ": " + ec.message());
            co_await send_refusal(stream_, r, record, 11, false, seconds(limits.client_idle_s));
            co_return;
        }
        upstream.expires_never();
        // Bytes the client sent after the CONNECT head (a TLS ClientHello, often) go first.
        std::string head = "HTTP/1.1 200 Connection Established\r\n\r\n";
        const asio::const_buffer reply = asio::buffer(head);
        if (co_await write_all(stream_, std::span(&reply, 1), seconds(limits.client_idle_s))) co_return;
        record.status = 200;
        record.outcome = "tunnel";
        const std::size_t early_bytes = buffer_.size();
        if (early_bytes > 0) {
            const asio::const_buffer leftover = buffer_.data();
            if (co_await write_all(upstream, std::span(&leftover, 1), seconds(limits.upstream_idle_s))) co_return;
            buffer_.consume(buffer_.size());
        }
        tcp_layer(stream_).expires_never();
        upstream.expires_never();
        auto stats = co_await run_tunnel(beast::get_lowest_layer(stream_).socket(), upstream.socket(),
                                         seconds(limits.client_idle_s));
        log_tunnel(record, early_bytes + stats.client_to_upstream, stats.upstream_to_client, stats.idle_timeout);
        record.keep_alive = false;
    }

    // CONNECT to a vendor: answer 200, take the client's TLS with a leaf for that host, and
    // serve the requests inside with this same loop over the TLS stream.
    task<void> intercept(const authority& where, exchange_record& record) {
        const auto& limits = runtime_->limits();
        std::string error;
        auto leaf = runtime_->leaves()->get(where.host, error);
        if (!leaf) {
            spdlog::error("interception of {} failed: {}", where.host, error);
            co_await send_refusal(stream_, make_refusal(502, "upstream_error", "cannot mint a certificate for " + where.host),
                                  record, 11, false, seconds(limits.client_idle_s));
            co_return;
        }
        const std::string_view established = "HTTP/1.1 200 Connection Established\r\n\r\n";
        const asio::const_buffer reply = asio::buffer(established);
        if (co_await write_all(stream_, std::span(&reply, 1), seconds(limits.client_idle_s))) co_return;
        record.status = 200;
        record.outcome = "intercepted";
        record.keep_alive = false;
        report(record);
        record.reported = true;  // the CONNECT is logged when its tunnel opens, not when it closes

        intercepted_stream tls(stream_, *runtime_->intercept_tls());
        if (!certs::prepare_intercept_ssl(tls.native_handle(), *leaf, &where.host)) co_return;
        tcp_layer(stream_).expires_after(seconds(limits.header_read_s));
        // The ClientHello may have come with the CONNECT head: hand those bytes to the handshake.
        auto [ec, used] = co_await tls.async_handshake(asio::ssl::stream_base::server, buffer_.data(), use_nothrow);
        buffer_.consume(used);
        if (ec) {
            spdlog::debug("client handshake for {} failed: {}", where.host, ec.message());
            co_return;
        }
        const tunnel_origin origin{record.client, where};
        bool quiet = false;
        {
            session<intercepted_stream> inner(worker_, tls, &origin);
            co_await inner.run();
            quiet = inner.ended_quietly();
        }
        // Our close_notify goes out; the client's is not waited for (RFC 8446 6.1 does not ask the
        // side that closes to wait, nor does nginx). Nothing may wait here anyway: the last answer
        // is held for the close (deadline_stream::hold_until_close), and leaves with this
        // close_notify and the FIN in one segment.
        SSL_set_shutdown(tls.native_handle(), SSL_RECEIVED_SHUTDOWN);
        tcp_layer(stream_).expires_after(std::chrono::seconds(2));
        const auto [ec_shutdown] = co_await tls.async_shutdown(use_nothrow);
        if (ec_shutdown) tcp_layer(stream_).close();  // the connection is gone, or timed out
        else co_await close_connection(tcp_layer(stream_), quiet);
    }

    worker& worker_;
    Stream& stream_;
    const tunnel_origin* inside_;
    beast::flat_buffer buffer_;
    std::unique_ptr<char[]> scratch_;
    message_head request_head_;   // the heads of every exchange, parsed into reused storage
    message_head response_head_;
    std::shared_ptr<const runtime> runtime_;
    std::string cached_credentials_;  // the last Proxy-Authorization value that authenticated
    const client_identity* cached_client_ = nullptr;
    bool quiet_end_ = false;
};

}  // namespace

task<void> serve_client(worker& w, tcp_socket socket) {
    tcp_stream stream(std::move(socket));
    bool quiet = false;
    {
        session<tcp_stream> s(w, stream);
        co_await s.run();
        quiet = s.ended_quietly();
    }
    if (stream.socket().is_open()) co_await close_connection(stream, quiet);  // else intercept() or a tunnel did
}

}  // namespace creditgate::proxy
