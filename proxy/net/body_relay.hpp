#pragma once
// body_relay: the two ways a message body is read. relay_body moves it from the parser reading it
// to another stream, after the head we wrote ourselves, with the framing we chose; read_body hands
// it, piece by piece, to whoever keeps it (an inspection) or drops it (a refused request). Both go
// through a fixed scratch buffer (bounded memory whatever the body size), with an idle timeout on
// every read and write and, for request bodies, an overall deadline.

#include "proxy/net/coarse_clock.hpp"
#include "proxy/net/flat_message.hpp"
#include "proxy/net/http_head.hpp"
#include "proxy/net/upstream_stream.hpp"

#include <boost/asio/ssl/error.hpp>
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

// How long a body may take: each read within `idle` of the last, and the whole by `until` (a
// request body's request_body_s).
struct body_time {
    std::chrono::seconds idle;
    coarse_clock::time_point until = no_deadline;
};

// Reads a body until it is complete or more than `limit` bytes came, appending it to `keep` (or
// dropping it when `keep` is null); never more than limit + 1 bytes in all, so a body of exactly
// `limit` bytes is read whole (its chunked terminator too) and one byte more says "too large".
// Returns the read error, if any.
template <class Stream, bool IsRequest>
task<error_code> read_body(Stream& in, beast::flat_buffer& buffer, flat_parser<IsRequest>& p, std::uint64_t limit,
                           std::span<char> scratch, body_time time, std::string* keep) {
    auto& body = p.body();
    std::uint64_t read = 0;
    while (!p.is_done() && read <= limit) {
        const std::size_t offered = static_cast<std::size_t>(std::min<std::uint64_t>(scratch.size(), limit + 1 - read));
        body.data = scratch.data();
        body.size = offered;
        expire_read(in, time.idle, time.until);
        auto [ec, n] = co_await http::async_read_some(in, buffer, p, use_nothrow);
        if (ec == http::error::need_buffer) ec = {};
        if (ec == asio::ssl::error::stream_truncated && p.need_eof()) p.put_eof(ec);
        const std::size_t got = offered - body.size;  // what this read delivered, not the whole scratch
        body.data = nullptr;
        body.size = 0;
        read += got;
        if (keep) keep->append(scratch.data(), got);
        if (ec) co_return ec;
    }
    co_return error_code{};
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
