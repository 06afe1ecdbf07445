#include "proxy/net/http_fetch.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <charconv>

namespace creditgate::proxy {

task<fetch_result> http_fetch(asio::io_context& io, const dial_policy& policy, const fetch_request& request,
                              std::chrono::seconds timeout) {
    fetch_result out;
    const dial_target target{request.host, request.port, request.tls};
    auto dialed = co_await dial_upstream(io, policy, target);
    if (dialed.failure) {
        out.error = dialed.failure->message;
        co_return out;
    }
    auto& conn = *dialed.connection;
    std::string head = request.method;
    head += ' ';
    head += request.target;
    head += " HTTP/1.1\r\nHost: ";
    head += request.host;
    if (request.port != (request.tls ? 443 : 80)) {
        head += ':';
        head += std::to_string(request.port);
    }
    head += "\r\nUser-Agent: creditgate\r\nAccept: application/json\r\nConnection: close\r\n";
    for (const auto& [name, value] : request.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    if (request.body) {
        head += "Content-Type: application/json\r\nContent-Length: ";
        head += std::to_string(request.body->size());
        head += "\r\n";
    }
    head += "\r\n";
    if (request.body) head += *request.body;

    conn.stream.tcp().expires_after(timeout);
    auto [wec, written] = co_await asio::async_write(conn.stream, asio::buffer(head), use_nothrow);
    if (wec) {
        out.error = wec == beast::error::timeout ? "no answer within " + std::to_string(timeout.count()) + " s"
                                                 : "sending the request: " + wec.message();
        co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(1024 * 1024);
    conn.stream.tcp().expires_after(timeout);
    auto [rec, read] = co_await http::async_read(conn.stream, conn.buffer, parser, use_nothrow);
    if (rec && !(rec == asio::ssl::error::stream_truncated && parser.is_done())) {
        out.error = rec == beast::error::timeout ? "no answer within " + std::to_string(timeout.count()) + " s"
                                                 : "reading the answer: " + rec.message();
        co_return out;
    }
    const auto& res = parser.get();
    out.status = res.result_int();
    out.body = res.body();
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
        std::int64_t s = 0;
        const auto v = it->value();
        if (std::from_chars(v.data(), v.data() + v.size(), s).ec == std::errc{} && s > 0) out.retry_after_s = s;
    }
    co_return out;
}

}  // namespace creditgate::proxy
