#include "proxy/forwarder.hpp"

#include "proxy/client_reply.hpp"
#include "proxy/disconnect_watch.hpp"
#include "proxy/upstream_connector.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>

namespace creditgate::proxy {
namespace {

bool is_idempotent(http::verb v) {
    return v == http::verb::get || v == http::verb::head || v == http::verb::options || v == http::verb::trace ||
           v == http::verb::put || v == http::verb::delete_;
}

bool has_body(const request_parser& p) { return p.chunked() || p.content_length().value_or(0) > 0; }

bool wants_tls(const forward_request& r) {
    switch (r.vendor.upstream_tls) {
        case policies::upstream_tls_mode::always: return true;
        case policies::upstream_tls_mode::never: return false;
        case policies::upstream_tls_mode::as_client: return r.target.https || r.client_is_tls;
    }
    return true;
}

void append_framing(std::string& head, body_framing framing, boost::optional<std::uint64_t> length) {
    if (framing == body_framing::chunked) append_field(head, "Transfer-Encoding", "chunked");
    else if (length && framing != body_framing::until_close) append_field(head, "Content-Length", std::to_string(*length));
}

std::string request_head(const request_parser& parser, const forward_request& r, const dial_target& d,
                         body_framing framing) {
    const auto& req = parser.get();
    std::string head;
    head.reserve(512);
    head.append(req.method_string());
    head += ' ';
    head += r.target.origin_form;
    head += " HTTP/1.1\r\nHost: ";
    head += d.host;
    if (d.port != (d.tls ? 443 : 80)) {
        head += ':';
        head += std::to_string(d.port);
    }
    head += "\r\n";
    append_forwarded_fields(req, head);
    append_via(req, req.version(), head);
    append_framing(head, framing, parser.content_length());
    head += "\r\n";
    return head;
}

// What the vendor's answer carries, and how we pass it on to this client.
struct response_framing {
    body_framing upstream;
    body_framing client;
};

response_framing choose_framing(const response_parser& p, bool head_request, unsigned client_version) {
    const unsigned status = p.get().result_int();
    body_framing upstream;
    if (head_request || status == 204 || status == 304 || status < 200) upstream = body_framing::none;
    else if (p.chunked()) upstream = body_framing::chunked;
    else if (p.content_length()) upstream = body_framing::content_length;
    else upstream = body_framing::until_close;

    body_framing client = upstream;
    if (upstream == body_framing::chunked && client_version < 11) client = body_framing::until_close;
    if (upstream == body_framing::until_close && client_version >= 11) client = body_framing::chunked;  // keeps the client connection
    return {upstream, client};
}

std::string response_head(const response_parser& p, response_framing framing, const exchange_record& record,
                          unsigned client_version, bool keep_alive) {
    const auto& res = p.get();
    std::string head;
    head.reserve(512);
    head += client_version < 11 ? "HTTP/1.0 " : "HTTP/1.1 ";
    head += std::to_string(res.result_int());
    head += ' ';
    head.append(res.reason());
    head += "\r\n";
    append_forwarded_fields(res, head);
    append_via(res, res.version(), head);
    if (framing.upstream == body_framing::none) {
        // HEAD and 304 answers keep the length of the body they describe.
        if (auto it = res.find(http::field::content_length); it != res.end()) append_field(head, "Content-Length", it->value());
    } else {
        append_framing(head, framing.client, p.content_length());
    }
    append_field(head, "X-Creditgate-Request-Id", record.request_id);
    if (!keep_alive) append_field(head, "Connection", "close");
    else if (client_version < 11) append_field(head, "Connection", "keep-alive");
    head += "\r\n";
    return head;
}

refusal failure_refusal(const error_code& ec, std::string_view what, const dial_target& d, std::int64_t timeout_s) {
    const std::string where = d.host + ":" + std::to_string(d.port);
    if (ec == beast::error::timeout)
        return make_refusal(504, "upstream_timeout",
                            std::string(what) + " " + where + ": no progress within " + std::to_string(timeout_s) + " s");
    return make_refusal(502, "upstream_error", std::string(what) + " " + where + ": " + ec.message());
}

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

}  // namespace

template <class ClientStream>
asio::awaitable<void> forward(worker& w, const runtime& rt, ClientStream& client, beast::flat_buffer& client_buffer,
                              request_parser& parser, const forward_request& request, std::span<char> scratch,
                              exchange_record& record) {
    const auto& req = parser.get();
    const auto& limits = rt.limits();
    const auto client_timeout = seconds(limits.client_idle_s);
    const auto upstream_timeout = seconds(limits.upstream_idle_s);
    const unsigned client_version = req.version();
    const bool client_keep_alive = req.keep_alive();
    const bool head_request = req.method() == http::verb::head;

    const bool tls = wants_tls(request);
    const dial_target target{request.target.where.host,
                             request.target.explicit_port ? request.target.where.port : std::uint16_t(tls ? 443 : 80),
                             tls};
    const std::string key = upstream_key(target.tls, target.host, target.port);
    const bool body = has_body(parser);
    const bool may_retry = !body && is_idempotent(req.method());
    const bool expect_continue = body && beast::iequals(req[http::field::expect], "100-continue");
    const body_framing request_framing =
        parser.chunked() ? body_framing::chunked : body ? body_framing::content_length : body_framing::none;
    const std::string head = request_head(parser, request, target, request_framing);

    std::unique_ptr<upstream_connection> conn;
    std::optional<response_parser> response;
    for (int attempt = 0;; ++attempt) {
        // A retry always goes out on a fresh connection.
        conn = attempt == 0 ? w.pool().take(key) : nullptr;
        if (!conn) {
            auto dialed = co_await dial_upstream(w.io(), rt, target);
            if (dialed.failure) {
                co_await send_refusal(client, *dialed.failure, record, client_version,
                                      client_keep_alive && parser.is_done(), client_timeout);
                co_return;
            }
            conn = std::move(dialed.connection);
        }
        const bool reused = conn->uses > 0;

        if (expect_continue && attempt == 0) {
            const asio::const_buffer interim = asio::buffer(continue_100);
            if (co_await write_all(client, std::span(&interim, 1), client_timeout)) {
                record.outcome = "client_aborted";
                co_return;
            }
        }

        auto sent = co_await relay_body(client, client_buffer, parser, conn->stream, head, request_framing, scratch,
                                        client_timeout, upstream_timeout);
        if (sent.read_error) {  // the client stopped sending its body: nothing sensible to answer
            record.outcome = "client_aborted";
            co_return;
        }
        if (sent.write_error) {
            if (reused && may_retry && attempt == 0) continue;
            co_await send_refusal(client, failure_refusal(sent.write_error, "sending the request to", target, limits.upstream_idle_s),
                                  record, client_version, client_keep_alive && parser.is_done(), client_timeout);
            co_return;
        }

        response.emplace();
        response->header_limit(64 * 1024);
        response->body_limit(boost::none);
        if (head_request) response->skip(true);
        error_code ec;
        {
            disconnect_watch watch(beast::get_lowest_layer(client).socket(), conn->stream.tcp());
            conn->stream.tcp().expires_after(seconds(limits.upstream_response_s));
            for (;;) {
                auto [rec, n] = co_await http::async_read_header(conn->stream, conn->buffer, *response, use_nothrow);
                ec = rec;
                const unsigned status = ec ? 0 : response->get().result_int();
                if (ec || status >= 200 || status == 101) break;
                // Interim answers (103 Early Hints, a stray 100) are not relayed.
                response.emplace();
                response->header_limit(64 * 1024);
                response->body_limit(boost::none);
                if (head_request) response->skip(true);
            }
            watch.stop();
            if (watch.client_left()) {
                record.outcome = "client_aborted";
                co_return;
            }
        }
        if (ec) {
            // A pooled connection the vendor had already closed: retry once if that is safe.
            if (reused && may_retry && attempt == 0 && !response->got_some()) continue;
            co_await send_refusal(client, failure_refusal(ec, "waiting for the answer of", target, limits.upstream_response_s),
                                  record, client_version, client_keep_alive, client_timeout);
            co_return;
        }
        break;
    }

    if (response->get().result_int() == 101) {
        co_await send_refusal(client, make_refusal(502, "upstream_error", "the vendor switched protocols unasked"),
                              record, client_version, false, client_timeout);
        co_return;
    }

    const response_framing framing = choose_framing(*response, head_request, client_version);
    const bool keep_alive = client_keep_alive && framing.client != body_framing::until_close;
    const std::string rhead = response_head(*response, framing, record, client_version, keep_alive);
    record.status = response->get().result_int();
    auto relayed = co_await relay_body(conn->stream, conn->buffer, *response, client, rhead, framing.client, scratch,
                                       upstream_timeout, client_timeout);
    record.bytes_sent = relayed.body_bytes;
    if (relayed.write_error) record.outcome = "client_aborted";
    else if (relayed.read_error == beast::error::timeout) record.outcome = "upstream_timeout";
    else if (relayed.read_error) record.outcome = "upstream_error";
    record.keep_alive = keep_alive && relayed.complete;

    if (relayed.complete && response->keep_alive() && framing.upstream != body_framing::until_close) {
        ++conn->uses;
        conn->stream.tcp().expires_never();
        w.pool().put(std::move(conn));
    }
}

template asio::awaitable<void> forward<beast::tcp_stream>(worker&, const runtime&, beast::tcp_stream&, beast::flat_buffer&,
                                                          request_parser&, const forward_request&, std::span<char>,
                                                          exchange_record&);

}  // namespace creditgate::proxy
