#pragma once
// session: one client connection's HTTP/1.1 loop — read a request head (with size and time
// limits), identify the client, route it (policies::decide: a value), and do what the route says:
// refuse, run a metered exchange, intercept a CONNECT, or tunnel it blind. One class for plain
// connections and for the TLS inside an intercepted CONNECT (client_stream).

#include "policies/route.hpp"
#include "proxy/exchange/client_stream.hpp"
#include "proxy/exchange/exchange_record.hpp"
#include "proxy/exchange/refusal.hpp"
#include "proxy/net/flat_message.hpp"
#include "proxy/worker.hpp"

#include <array>
#include <memory>

namespace creditgate::proxy {

// Serves a freshly accepted plain connection until it closes.
task<void> serve_client(worker& w, tcp_socket socket);

class session {
public:
    // `inside`: the CONNECT this session runs inside (interception): its authority, the client it
    // proved, the Proxy-Authorization that proved it and the config it was proved under (the outer
    // session keeps both alive while this one runs).
    struct tunnel_origin {
        const client_identity* client;
        policies::authority where;
        std::string_view credentials;
        const runtime* proven_under;
    };
    session(worker& w, client_stream stream, const tunnel_origin* inside = nullptr);

    task<void> run();
    // Whether the connection ended with nothing the client sent left unread: the last request was
    // read whole and nothing came after it, or the read between requests ended (the client closed,
    // or idled past client_idle_s). Then no lingering close is needed (close_connection).
    bool ended_quietly() const { return quiet_end_; }

private:
    task<error_code> read_head(request_parser& parser);  // a head not yet whole in the buffer
    void report(const exchange_record& record);
    task<void> refuse_unreadable(const error_code& ec, request_parser& parser, exchange_record& record);
    task<void> refuse(request_parser& parser, exchange_record& record, const policies::route& r);
    task<void> refuse(request_parser& parser, exchange_record& record, refusal r, bool must_close = false);
    task<void> handle(request_parser& parser, exchange_record& record);
    task<policies::credentials> identify(std::string_view proxy_authorization, exchange_record& record);
    task<policies::credentials> identify_tunnel(exchange_record& record);
    task<void> meter(request_parser& parser, exchange_record& record, const policies::route& r);
    // CONNECT (session_connect.cpp).
    task<void> tunnel(request_parser& parser, const policies::authority& where, exchange_record& record);
    task<void> intercept(request_parser& parser, const policies::authority& where, exchange_record& record);
    task<bool> intercept_handshake(intercepted_stream& tls, const policies::authority& where);

    // Made on first use after each idle wait (release_idle_memory): an idle connection keeps none.
    std::span<char> scratch() {
        if (!scratch_) scratch_ = worker_.take_scratch();
        return {scratch_.get(), scratch_bytes};
    }
    // Between requests a keep-alive connection holds no read buffer and no scratch: thousands of
    // scrapers idle between calls (issue 22). The first bytes of the next request land in
    // idle_bytes_, inside the session.
    void release_idle_memory();
    task<error_code> wait_for_next_request(const limits_config& limits);

    static constexpr std::size_t read_buffer_bytes = 16 * 1024;  // two recvmsg per request instead of four (DESIGN.md)
    static constexpr std::size_t scratch_bytes = worker::scratch_bytes;

    worker& worker_;
    client_stream stream_;
    const tunnel_origin* inside_;
    beast::flat_buffer buffer_;
    std::unique_ptr<char[]> scratch_;
    std::array<char, 1024> idle_bytes_;  // the idle read's landing place (a typical head whole)
    message_head request_head_;  // the heads of every exchange, parsed into reused storage
    message_head response_head_;
    std::shared_ptr<const runtime> runtime_;
    std::string cached_credentials_;  // the last Proxy-Authorization value that authenticated
    const client_identity* cached_client_ = nullptr;
    bool quiet_end_ = false;
};

}  // namespace creditgate::proxy
