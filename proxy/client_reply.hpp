#pragma once
// client_reply: writing creditgate's own answers (refusals, interim 100 Continue) to a client,
// and the one rule every refusal follows about the client connection (SPEC §5).

#include "proxy/body_relay.hpp"
#include "proxy/coarse_clock.hpp"
#include "proxy/exchange.hpp"
#include "proxy/refusal.hpp"

#include <boost/beast/core/string.hpp>

namespace creditgate::proxy {

// Writes the refusal and records it. Returns false when the client could not be written to.
template <class Stream>
task<bool> send_refusal(Stream& client, const refusal& r, exchange_record& record, unsigned version,
                        bool keep_alive, std::chrono::seconds timeout) {
    const std::string bytes = render_refusal(r, record.request_id, version, keep_alive);
    record.status = r.status;
    record.outcome = r.code;
    record.keep_alive = keep_alive;
    const asio::const_buffer buffer = asio::buffer(bytes);
    const error_code ec = co_await write_all(client, std::span(&buffer, 1), timeout);
    if (ec) record.keep_alive = false;
    co_return !ec;
}

// A refused request's body is read and discarded, to keep the connection, only up to this much.
inline constexpr std::uint64_t refusal_drain_limit = 64 * 1024;

// What refusing a request needs besides the refusal itself.
struct refusal_context {
    std::chrono::seconds drain_time;  // header_read_s: the rest of a refused body must come within it
    std::chrono::seconds write_time;  // client_idle_s: for writing the refusal
    bool draining = false;            // shutting down: every refusal closes
    std::span<char> scratch;          // where discarded body bytes go
    bool continue_sent = false;       // a 100 Continue went out: the client is sending its body
};

// How much of a refused request's body is still to come.
enum class body_rest { none, small, unknown, large };

inline body_rest rest_of_body(const request_parser& p, bool continue_sent) {
    if (p.is_done()) return body_rest::none;
    // A client waiting for 100 Continue may send its body or not: nothing after it can be framed.
    if (!continue_sent && beast::iequals(p.get()[http::field::expect], "100-continue")) return body_rest::large;
    if (p.chunked()) return body_rest::unknown;
    const auto rest = p.content_length_remaining();
    return rest && *rest <= refusal_drain_limit ? body_rest::small : body_rest::large;
}

// Reads and discards the rest of a refused body: at most refusal_drain_limit bytes, all within
// `within`. True when the body ended in time, so the next request can be read.
template <class Stream>
task<bool> discard_body(Stream& client, beast::flat_buffer& buffer, request_parser& parser, std::span<char> scratch,
                        std::chrono::seconds within) {
    tcp_layer(client).expires_at(coarse_clock::deadline_after(within));
    std::uint64_t discarded = 0;
    auto& body = parser.body();
    while (!parser.is_done()) {
        const std::size_t offered = static_cast<std::size_t>(
            std::min<std::uint64_t>(scratch.size(), refusal_drain_limit + 1 - discarded));
        body.data = scratch.data();
        body.size = offered;
        auto [ec, n] = co_await http::async_read_some(client, buffer, parser, use_nothrow);
        discarded += offered - body.size;
        body.data = nullptr;
        body.size = 0;
        if (ec && ec != http::error::need_buffer) co_return false;
        if (discarded > refusal_drain_limit) co_return false;
    }
    co_return true;
}

// Refuses one request (SPEC §5): the connection is kept when the rest of the request body is at
// most 64 KiB and arrives within header_read_s — whoever refuses, from whichever phase — and
// closed otherwise. The refusal and the context are taken by value: callers build them in
// temporaries, and a coroutine runs after its caller's full expression is over.
template <class Stream>
task<void> refuse_request(Stream& client, beast::flat_buffer& buffer, request_parser& parser, refusal r,
                          exchange_record& record, refusal_context ctx) {
    const auto& req = parser.get();
    const body_rest rest = rest_of_body(parser, ctx.continue_sent);
    const bool keep_alive = req.keep_alive() && !ctx.draining && rest != body_rest::large;
    if (!co_await send_refusal(client, r, record, req.version(), keep_alive, ctx.write_time)) co_return;
    if (keep_alive && rest != body_rest::none)
        record.keep_alive = co_await discard_body(client, buffer, parser, ctx.scratch, ctx.drain_time);
}

}  // namespace creditgate::proxy
