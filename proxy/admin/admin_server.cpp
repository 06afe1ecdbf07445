#include "proxy/admin/admin_server.hpp"

#include "proxy/net/listener.hpp"

#include "proxy/net/deadline_stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <spdlog/spdlog.h>

namespace creditgate::proxy {
namespace {

// A page file: 304 when the browser has this version, gzip when it takes it. The files change
// only with the binary, so browsers revalidate (no-cache) rather than keep stale copies.
void fill_asset(http::response<http::string_body>& res, const page_asset& asset, std::string_view if_none_match,
                std::string_view accept_encoding) {
    res.set(http::field::etag, asset.etag);
    res.set(http::field::cache_control, "no-cache");
    res.set(http::field::vary, "Accept-Encoding");
    res.set("X-Content-Type-Options", "nosniff");
    // The page talks to this listener only (SPEC §11): no CDN, no other origin.
    res.set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
    if (!if_none_match.empty() && if_none_match.find(asset.etag) != std::string_view::npos) {
        res.result(http::status::not_modified);
        return;
    }
    if (!asset.gzip.empty() && accepts_gzip(accept_encoding)) {
        res.set(http::field::content_encoding, "gzip");
        res.body() = asset.gzip;
    } else {
        res.body() = std::string(asset.body);
    }
}

constexpr std::uint64_t small_body = 64 * 1024, large_body = 4 * 1024 * 1024;

task<void> serve_admin_connection(tcp_socket socket, const admin_routes& routes, asio::any_io_executor slow_work) {
    tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(16 * 1024);
        parser.body_limit(large_body);  // Beast checks a Content-Length against it with the head
        stream.expires_after(std::chrono::seconds(30));
        auto [hec, hn] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
        if (hec) break;
        // Bodies are small but for an estimate's planned calls, and those only with a valid token.
        const auto& head = parser.get();
        const bool estimate = head.target().substr(0, 16) == "/api/v1/estimate" && routes.admits(head[http::field::authorization]);
        if (!estimate) {
            parser.body_limit(small_body);  // for chunked bodies, checked as they come
            if (parser.content_length().value_or(0) > small_body) {
                const admin_response too_large = admin_error(413, "body_too_large", "admin requests carry at most 64 KiB");
                http::response<http::string_body> res{http::status::payload_too_large, head.version()};
                res.set(http::field::content_type, too_large.content_type);
                res.body() = too_large.body;
                res.keep_alive(false);
                res.prepare_payload();
                co_await http::async_write(stream, res, use_nothrow);
                break;
            }
        }
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
        if (ec) break;
        const auto& req = parser.get();
        const std::string_view method = req.method_string(), target = req.target(), authorization = req[http::field::authorization];
        const std::string_view body = req.body();
        admin_response answer;
        if (admin_routes::reads_database(target)) {
            // On the report pool (an any_io_executor), not on this proxy thread.
            answer = co_await asio::co_spawn(
                slow_work, [&]() -> asio::awaitable<admin_response> { co_return routes.handle(method, target, authorization, body); },
                use_task);
        } else {
            answer = routes.handle(method, target, authorization, body);
        }

        http::response<http::string_body> res{static_cast<http::status>(answer.status), req.version()};
        res.set(http::field::server, "creditgate");
        res.set(http::field::content_type, answer.content_type);
        if (answer.bearer_challenge) res.set(http::field::www_authenticate, "Bearer realm=\"creditgate-admin\"");
        if (!answer.attachment.empty()) res.set(http::field::content_disposition, "attachment; filename=\"" + answer.attachment + "\"");
        if (answer.asset) {
            fill_asset(res, *answer.asset, req[http::field::if_none_match], req[http::field::accept_encoding]);
        } else {
            res.set(http::field::cache_control, "no-store");
            res.body() = std::move(answer.body);
        }
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        if (req.method() == http::verb::head) res.body().clear();  // Content-Length stays the GET's
        // The token's name, never the token; the path without its query.
        if (!answer.caller.empty())
            spdlog::info("admin {} {} {} token={}", method, target.substr(0, target.find('?')), answer.status, answer.caller);
        auto [wec, written] = co_await http::async_write(stream, res, use_nothrow);
        if (wec || !res.keep_alive()) break;
    }
    error_code ignored;
    stream.socket().shutdown(tcp_socket::shutdown_send, ignored);
}

}  // namespace

task<void> run_admin_server(tcp_acceptor& acceptor, const admin_routes& routes, asio::any_io_executor slow_work) {
    asio::io_context& io = acceptor.get_executor().context();
    co_await accept_connections(acceptor, "admin", [&io]() -> asio::io_context& { return io; }, [&](tcp_socket socket) {
        asio::co_spawn(acceptor.get_executor(), serve_admin_connection(std::move(socket), routes, slow_work), asio::detached);
    });
}

}  // namespace creditgate::proxy
