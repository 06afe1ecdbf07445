#include "proxy/exchange/session.hpp"
#include "proxy/exchange/secret_verifier.hpp"

#include "proxy/admin/metrics.hpp"
#include "certs/intercept_tls.hpp"
#include "proxy/exchange/exchange.hpp"
#include "proxy/exchange/refuse.hpp"
#include "proxy/exchange/access_log.hpp"
#include "proxy/net/connection_close.hpp"
#include "proxy/net/http_head.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>

namespace creditgate::proxy {
namespace {

bool is_upgrade(const flat_fields& f) {
    if (f.find(http::field::upgrade) != f.end()) return true;
    auto it = f.find(http::field::connection);
    return it != f.end() && http::token_list{it->value()}.exists("upgrade");
}

// What routing reads of a parsed head.
policies::request_head_facts facts_of(const request_parser& parser) {
    const auto& req = parser.get();
    policies::request_head_facts h;
    h.method = req.method_string();
    h.target = req.target();
    h.host = req[http::field::host];
    h.host_fields = req.count(http::field::host);
    h.proxy_authorization_fields = req.count(http::field::proxy_authorization);
    h.upgrade = is_upgrade(req);
    h.transfer_encoding = req.find(http::field::transfer_encoding) != req.end();
    h.chunked_only = parser.chunked() && !transfer_coded(req);
    return h;
}

}  // namespace

session::session(worker& w, client_stream stream, const tunnel_origin* inside)
    : worker_(w), stream_(stream), inside_(inside) {
    buffer_.reserve(read_buffer_bytes);
}

void session::release_idle_memory() {
    buffer_.clear();
    buffer_.shrink_to_fit();
    worker_.give_scratch(std::move(scratch_));  // the worker keeps it for the next request
}

// Between requests the client may idle for client_idle_s; the head then has header_read_s. The
// wait reads into idle_bytes_, so that an idle connection holds no heap buffer; what arrived is
// then moved into a fresh read buffer.
task<error_code> session::wait_for_next_request(const limits_config& limits) {
    release_idle_memory();
    tcp_layer(stream_).expires_after(seconds(limits.client_idle_s));
    auto [ec, n] = co_await stream_.async_read_some(asio::buffer(idle_bytes_), use_nothrow);
    if (ec) co_return ec;
    buffer_.reserve(read_buffer_bytes);
    asio::buffer_copy(buffer_.prepare(n), asio::buffer(idle_bytes_.data(), n));
    buffer_.commit(n);
    co_return error_code{};
}

task<void> session::run() {
    for (bool first = true;; first = false) {
        if (!first && buffer_.size() == 0) {
            // Under the config of the last request (held by runtime_ while this waits).
            if (co_await wait_for_next_request(runtime_->limits())) {
                quiet_end_ = true;  // closed or idle between requests: nothing of theirs is unread
                co_return;
            }
        }
        // The config as it is now that a request came: a reload may have happened while idle.
        auto current = worker_.snapshot();
        if (current != runtime_) {
            // What these credentials proved was proved against the old clients, and the cached
            // identity points into the old config, which may go with this assignment.
            cached_credentials_.clear();
            cached_client_ = nullptr;
        }
        runtime_ = std::move(current);
        const auto& limits = runtime_->limits();
        request_parser parser(request_head_);
        parser.header_limit(static_cast<std::uint32_t>(limits.header_bytes));
        parser.body_limit(boost::none);
        // A head the idle read brought whole is parsed in place (no await); else it is read
        // under header_read_s.
        std::optional<error_code> parsed = parse_buffered_head(parser, buffer_);
        if (!parsed) parsed = co_await read_head(parser);
        const error_code ec = *parsed;
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
        record.method = parser.get().method_string();
        // Read after the first head, the ticket goes out with the first answer; queued at the
        // handshake's end, the read of that head would have sent it alone.
        if (first && stream_.tls()) certs::queue_session_ticket(stream_.tls()->native_handle());
        co_await handle(parser, record);
        if (!record.reported) report(record);
        if (!record.keep_alive) {
            quiet_end_ = parser.is_done() && buffer_.size() == 0;
            co_return;
        }
    }
}

task<error_code> session::read_head(request_parser& parser) {
    tcp_layer(stream_).expires_after(seconds(runtime_->limits().header_read_s));
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, use_nothrow);
    co_return ec;
}

// One exchange is over: its access line and its counts.
void session::report(const exchange_record& record) {
    const auto elapsed = std::chrono::steady_clock::now() - record.started;  // one reading for both
    log_access(record, elapsed);
    if (auto* counters = worker_.state().counters) counters->record(counts_of(record, elapsed));
}

task<void> session::refuse_unreadable(const error_code& ec, request_parser& parser, exchange_record& record) {
    if (!parser.got_some() && buffer_.size() == 0) co_return;  // closed or idle before a request: not an exchange
    if (ec == beast::error::timeout || ec == http::error::end_of_stream || ec == asio::error::eof) {
        // A head that never completed: no answer helps; drop the connection.
        if (ec == beast::error::timeout) spdlog::debug("client header read timed out");
        co_return;
    }
    const refusal r = ec == http::error::header_limit
                          ? make_refusal(policies::refusal_code::headers_too_large,
                                         "the request head exceeds " + std::to_string(runtime_->limits().header_bytes) + " bytes")
                          : make_refusal(policies::refusal_code::bad_request, "malformed request: " + ec.message());
    co_await send_refusal(stream_, r, record, 11, false, seconds(runtime_->limits().client_idle_s));
    report(record);
}

task<void> session::refuse(request_parser& parser, exchange_record& record, const policies::route& r) {
    if (!r.where.host.empty()) record.host = r.where.host;
    if (!r.target.origin_form.empty()) record.path = r.target.path();
    co_await refuse(parser, record, make_refusal(r.code, r.message), r.close);
}

task<void> session::refuse(request_parser& parser, exchange_record& record, refusal r, bool must_close) {
    refusal_context ctx = refusal_context_for(runtime_->limits(), worker_.state().draining.load(std::memory_order_relaxed), scratch());
    ctx.must_close = must_close;
    co_await refuse_request(stream_, buffer_, parser, std::move(r), record, ctx);
}

task<void> session::handle(request_parser& parser, exchange_record& record) {
    policies::route_config config{&runtime_->routes(), runtime_->leaves() != nullptr,
                                  [rt = runtime_.get()](std::string_view host, std::uint16_t port) {
                                      return rt->pinned(host, port) != nullptr;
                                  },
                                  worker_.state().draining.load(std::memory_order_relaxed)};
    // Who it is first, in a statement of its own: GCC 12 mishandles temporaries of a full
    // expression that holds a co_await (the head's views came back dangling).
    policies::credentials who = policies::credentials::valid;
    if (inside_) who = co_await identify_tunnel(record);
    else who = co_await identify(parser.get()[http::field::proxy_authorization], record);
    const auto head = facts_of(parser);
    const policies::route r = inside_ ? policies::decide_inside(head, who, inside_->where, config)
                                      : policies::decide(head, who, config);
    switch (r.what) {
        case policies::route::kind::refuse: co_await refuse(parser, record, r); break;
        case policies::route::kind::meter: co_await meter(parser, record, r); break;
        case policies::route::kind::intercept: record.host = r.where.host; co_await intercept(parser, r.where, record); break;
        case policies::route::kind::passthrough: record.host = r.where.host; co_await tunnel(parser, r.where, record); break;
    }
}

// Who sent the request, by its Proxy-Authorization; the last credentials that worked are cached.
// A hashed secret not yet verified in this process is hashed on the verifier's threads.
task<policies::credentials> session::identify(std::string_view credentials, exchange_record& record) {
    if (credentials.empty()) co_return policies::credentials::missing;
    if (credentials != cached_credentials_) {
        auto check = runtime_->clients().authenticate(credentials);
        cached_client_ = check.client;
        if (check.needs_hash && worker_.state().verifier)
            cached_client_ = co_await worker_.state().verifier->verify(runtime_, std::move(check));
        cached_credentials_ = cached_client_ ? std::string(credentials) : std::string();
    }
    record.client = cached_client_;
    co_return cached_client_ ? policies::credentials::valid : policies::credentials::wrong;
}

// Inside an intercepted CONNECT the client is whoever the CONNECT proved — under the config of
// that moment. After a reload its credentials are checked again under the new one (once: identify
// caches them until the next change), so that a rotated secret or a removed client ends the
// tunnel's calls, and the identity never points into a config that is gone.
task<policies::credentials> session::identify_tunnel(exchange_record& record) {
    if (runtime_.get() == inside_->proven_under) {
        record.client = inside_->client;
        co_return policies::credentials::valid;
    }
    co_return co_await identify(inside_->credentials, record);
}

task<void> session::meter(request_parser& parser, exchange_record& record, const policies::route& r) {
    record.host = r.where.host;
    record.path = r.target.path();
    in_flight_guard in_flight(worker_.state());
    const exchange_request request{r.target, *r.vendor, inside_ != nullptr};
    metered_exchange exchange(worker_, *runtime_, stream_, buffer_, parser, request, {scratch(), response_head_}, record);
    co_await exchange.run();
}

task<void> serve_client(worker& w, tcp_socket socket) {
    tcp_stream stream(std::move(socket));
    bool quiet = false;
    {
        session s(w, client_stream(stream));
        co_await s.run();
        quiet = s.ended_quietly();
    }
    if (stream.socket().is_open()) co_await close_connection(stream, quiet);  // else intercept() or a tunnel did
}

}  // namespace creditgate::proxy
