#pragma once
// body_relay: moves one message's body from the parser reading it to another stream, after
// the head we wrote ourselves, with the framing we chose, through a fixed scratch buffer
// (bounded memory whatever the body size) and an idle timeout on every read and write.

#include "proxy/coarse_clock.hpp"
#include "proxy/flat_message.hpp"
#include "proxy/http_head.hpp"
#include "proxy/upstream_stream.hpp"

#include <boost/asio/ssl/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>

#include <algorithm>
#include <array>
#include <span>
#include <string_view>

namespace creditgate::proxy {

// The TCP layer that carries a stream's timeouts.
inline tcp_stream& tcp_layer(tcp_stream& s) { return s; }
inline tcp_stream& tcp_layer(upstream_stream& s) { return s.tcp(); }
inline tcp_stream& tcp_layer(beast::ssl_stream<tcp_stream&>& s) { return s.next_layer(); }

// The stream of an intercepted CONNECT: TLS over the client's own TCP stream.
using intercepted_stream = beast::ssl_stream<tcp_stream&>;

struct relay_outcome {
    error_code read_error;   // the source failed (or timed out)
    error_code write_error;  // the destination failed (or timed out)
    std::uint64_t body_bytes = 0;
    bool complete = false;   // the whole message went through
    bool wrote_any = false;  // the head (and maybe more) reached the destination
};

// No deadline beyond each read's own timeout.
inline constexpr coarse_clock::time_point no_deadline = coarse_clock::time_point::max();

// Sets the expiry of one read: its idle timeout, or an overall deadline (a request body's
// request_body_s) when that comes first. Past the overall deadline the connection stays open, so
// that the client can still hear 408 (SPEC §5); past the idle timeout it is closed.
template <class Stream>
void expire_read(Stream& in, std::chrono::seconds timeout, coarse_clock::time_point deadline) {
    const auto idle = coarse_clock::deadline_after(timeout);
    if (deadline < idle) tcp_layer(in).expires_at(deadline, true);
    else tcp_layer(in).expires_at(idle);
}

template <class Out>
task<error_code> write_all(Out& out, std::span<const asio::const_buffer> buffers, std::chrono::seconds timeout) {
    tcp_layer(out).expires_after(timeout);
    auto [ec, n] = co_await asio::async_write(out, buffers, use_nothrow);
    co_return ec;
}

template <class In, class Out, bool IsRequest>
task<relay_outcome> relay_body(In& in, beast::flat_buffer& in_buffer,
                               flat_parser<IsRequest>& parser, Out& out,
                               std::string_view head, body_framing framing, std::span<char> scratch,
                               std::chrono::seconds read_timeout, std::chrono::seconds write_timeout,
                               coarse_clock::time_point read_deadline = no_deadline) {
    relay_outcome outcome;
    std::string_view pending_head = head;
    char chunk_buf[24];
    auto& body = parser.body();

    while (!parser.is_done()) {
        body.data = scratch.data();
        body.size = scratch.size();
        expire_read(in, read_timeout, read_deadline);
        auto [ec, ignored] = co_await http::async_read_some(in, in_buffer, parser, use_nothrow);
        if (ec == http::error::need_buffer) ec = {};
        if (ec == asio::ssl::error::stream_truncated && parser.need_eof()) {
            // A TLS peer that closed without close_notify: for a body delimited by the close
            // itself, that is its end (a body of known length still detects truncation).
            parser.put_eof(ec);
        }
        if (ec) {
            outcome.read_error = ec;
            break;
        }
        const std::size_t n = scratch.size() - body.size;
        const bool last = parser.is_done() && framing == body_framing::chunked;
        if (n == 0 && !last && pending_head.empty()) continue;  // progress without data: a chunk header

        std::array<asio::const_buffer, 5> buffers{};
        buffers[0] = asio::buffer(pending_head);
        if (n > 0) {
            if (framing == body_framing::chunked) buffers[1] = asio::buffer(chunk_header(n, chunk_buf));
            buffers[2] = asio::buffer(scratch.data(), n);
            if (framing == body_framing::chunked) buffers[3] = asio::buffer(chunk_trailer);
        }
        if (last) buffers[4] = asio::buffer(last_chunk);
        if (auto wec = co_await write_all(out, buffers, write_timeout)) {
            outcome.write_error = wec;
            outcome.wrote_any = true;  // some of it may have left
            break;
        }
        outcome.wrote_any = true;
        pending_head = {};
        outcome.body_bytes += n;
    }
    if (!outcome.read_error && !outcome.write_error && !pending_head.empty()) {
        // No body at all, or a body that carried no byte (chunked "0\r\n\r\n").
        std::array<asio::const_buffer, 2> buffers{asio::buffer(pending_head),
                                                  framing == body_framing::chunked ? asio::buffer(last_chunk)
                                                                                   : asio::const_buffer{}};
        outcome.write_error = co_await write_all(out, buffers, write_timeout);
        outcome.wrote_any = true;
    }
    outcome.complete = parser.is_done() && !outcome.read_error && !outcome.write_error;
    co_return outcome;
}

}  // namespace creditgate::proxy
