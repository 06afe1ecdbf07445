#include "proxy/net/connection_close.hpp"

#include <sys/socket.h>

#include <array>

namespace creditgate::proxy {
namespace {

// Closing while the client may still be sending (an error answer before its body was read, a
// malformed head): stop sending, then read what the client still sends for a moment, so that our
// answer is not destroyed by a reset for unread data.
task<void> lingering_close(tcp_stream& stream) {
    error_code ec;
    stream.socket().shutdown(tcp_socket::shutdown_send, ec);
    if (ec) co_return;
    std::array<char, 4096> sink;
    std::size_t total = 0;
    stream.expires_after(std::chrono::seconds(2));
    while (total < 256 * 1024) {
        auto [rec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
        if (rec) break;
        total += n;
    }
}

// Closes a connection that ended quietly (session::ended_quietly). What the client sent since
// (its close_notify, its FIN) is read off without waiting, so that the close sends a FIN rather
// than a reset. More than 4 KiB of it means a client still talking: then false, and the socket
// stays open for a lingering close.
bool close_now(tcp_stream& stream) {
    auto& socket = stream.socket();
    std::array<char, 1024> sink;
    for (int reads = 0;; ++reads) {
        const ssize_t n = ::recv(socket.native_handle(), sink.data(), sink.size(), MSG_DONTWAIT);
        if (n <= 0) break;  // nothing more (EAGAIN), the client's FIN, or a reset
        if (reads == 4) return false;
    }
    stream.close();
    return true;
}

}  // namespace

task<void> close_connection(tcp_stream& stream, bool quiet) {
    if (quiet && close_now(stream)) co_return;
    co_await lingering_close(stream);
    stream.close();
}

}  // namespace creditgate::proxy
