#include "proxy/disconnect_watch.hpp"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>

namespace creditgate::proxy {

bool client_has_left(tcp_socket& client) {
    char byte;
    const ssize_t n = ::recv(client.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0) return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
    pollfd p{client.native_handle(), POLLRDHUP, 0};  // bytes pending (TLS close_notify) and then a FIN
    return ::poll(&p, 1, 0) == 1 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

disconnect_watch::disconnect_watch(tcp_socket& client, tcp_stream& upstream)
    : client_(client), state_(std::make_shared<state>()) {
    state_->upstream = &upstream;
    arm();
}

void disconnect_watch::arm() {
    // A peeking receive rather than async_wait(wait_read): Asio re-registers the descriptor with
    // epoll (one epoll_ctl per call) for a wait, while a receive is first tried at once (a cheap
    // EAGAIN) and then parked on the registration the socket already has. Peeking consumes
    // nothing, so a pipelined request stays for the next read.
    // The handler may run after this object is gone (a completion already queued when stop()
    // ran): it touches only the shared state until it has checked `active`.
    client_.async_receive(asio::buffer(&state_->peeked, 1), tcp_socket::message_peek,
                          [s = state_, &client = client_](error_code ec, std::size_t) {
        if (!s->active || ec == asio::error::operation_aborted) return;
        // Readable: EOF, an error, or pending bytes followed by a FIN (a TLS client's close_notify).
        // Bytes alone (a pipelined request) are not a hang-up: the watch just ends.
        if (client_has_left(client)) {
            s->client_left = true;
            s->active = false;
            s->upstream->cancel();
        }
    });
}

void disconnect_watch::stop() {
    if (!state_->active) return;
    state_->active = false;
    error_code ignored;
    client_.cancel(ignored);  // nothing else is pending on the client while we wait upstream
}

}  // namespace creditgate::proxy
