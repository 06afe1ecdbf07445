#include "proxy/exchange/refuse.hpp"

#include "proxy/exchange/client_io.hpp"

#include <boost/beast/core/string.hpp>

namespace creditgate::proxy {

refusal_context refusal_context_for(const limits_config& limits, bool draining, std::span<char> scratch) {
    return {seconds(limits.header_read_s), seconds(limits.client_idle_s), draining, scratch};
}

body_rest rest_of_body(const request_parser& p, bool continue_sent) {
    if (p.is_done()) return body_rest::none;
    // A client waiting for 100 Continue may send its body or not: nothing after it can be framed.
    if (!continue_sent && beast::iequals(p.get()[http::field::expect], "100-continue")) return body_rest::large;
    if (p.chunked()) return body_rest::unknown;
    const auto rest = p.content_length_remaining();
    return rest && *rest <= refusal_drain_limit ? body_rest::small : body_rest::large;
}

task<bool> send_refusal(client_stream& client, const refusal& r, exchange_record& record, unsigned version, bool keep_alive,
                        std::chrono::seconds timeout) {
    const std::string bytes = render_refusal(r, record.request_id, version, keep_alive);
    record.status = r.status();
    record.refused(r.code);
    record.keep_alive = keep_alive;
    const asio::const_buffer buffer = asio::buffer(bytes);
    const error_code ec = co_await write_all(client, std::span(&buffer, 1), timeout);
    if (ec) record.keep_alive = false;
    co_return !ec;
}

task<void> refuse_request(client_stream& client, beast::flat_buffer& buffer, request_parser& parser, refusal r,
                          exchange_record& record, refusal_context ctx) {
    const auto& req = parser.get();
    const body_rest rest = rest_of_body(parser, ctx.continue_sent);
    const bool keep_alive = req.keep_alive() && !ctx.draining && !ctx.must_close && rest != body_rest::large;
    if (!co_await send_refusal(client, r, record, req.version(), keep_alive, ctx.write_time)) co_return;
    if (!keep_alive || rest == body_rest::none) co_return;
    // The rest is read and dropped: at most 64 KiB, all of it within header_read_s.
    const body_time time{ctx.drain_time, coarse_clock::deadline_after(ctx.drain_time)};
    const error_code ec = co_await read_body(client, buffer, parser, refusal_drain_limit, ctx.scratch, time, nullptr);
    record.keep_alive = !ec && parser.is_done();
}

}  // namespace creditgate::proxy
