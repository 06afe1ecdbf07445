#pragma once
// refuse: the one way every refusal reaches a client (SPEC §5), from any phase of any exchange:
// the connection is kept when the rest of the request body is at most 64 KiB and arrives within
// header_read_s, and closed otherwise.

#include "proxy/config/config.hpp"
#include "proxy/exchange/client_stream.hpp"
#include "proxy/exchange/exchange_record.hpp"
#include "proxy/exchange/refusal.hpp"
#include "proxy/net/flat_message.hpp"

#include <span>

namespace creditgate::proxy {

// A refused request's body is read and discarded, to keep the connection, only up to this much.
inline constexpr std::uint64_t refusal_drain_limit = 64 * 1024;

// What refusing a request needs besides the refusal itself.
struct refusal_context {
    std::chrono::seconds drain_time;  // header_read_s: the rest of a refused body must come within it
    std::chrono::seconds write_time;  // client_idle_s: for writing the refusal
    bool draining = false;            // shutting down: every refusal closes
    std::span<char> scratch;          // where discarded body bytes go
    bool continue_sent = false;       // a 100 Continue went out: the client is sending its body
    bool must_close = false;          // the request cannot be framed past this point (SPEC §5: a 408, a coded body)
};

// Under these limits: header_read_s to drain, client_idle_s to write.
refusal_context refusal_context_for(const limits_config& limits, bool draining, std::span<char> scratch);

// How much of a refused request's body is still to come.
enum class body_rest { none, small, unknown, large };
body_rest rest_of_body(const request_parser& p, bool continue_sent);

// Writes the refusal and records it. False when the client could not be written to.
task<bool> send_refusal(client_stream& client, const refusal& r, exchange_record& record, unsigned version, bool keep_alive,
                        std::chrono::seconds timeout);

// SPEC §5's rule. The refusal and the context are taken by value: callers build them in
// temporaries, and a coroutine runs after its caller's full expression is over.
task<void> refuse_request(client_stream& client, beast::flat_buffer& buffer, request_parser& parser, refusal r,
                          exchange_record& record, refusal_context ctx);

}  // namespace creditgate::proxy
