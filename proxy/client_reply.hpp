#pragma once
// client_reply: writing creditgate's own answers (refusals, interim 100 Continue) to a client.

#include "proxy/body_relay.hpp"
#include "proxy/exchange.hpp"
#include "proxy/refusal.hpp"

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

}  // namespace creditgate::proxy
