#include "proxy/net/disconnect_watch.hpp"

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

disconnect_watch::disconnect_watch(watch_roster& roster, tcp_socket& client, tcp_stream& upstream)
    : client_(client), upstream_(upstream) {
    roster.enroll(*this);
}

void disconnect_watch::arm() {
    armed_ = std::make_shared<armed_state>();
    armed_->upstream = &upstream_;
    // A peeking receive rather than async_wait(wait_read): Asio re-registers the descriptor with
    // epoll (one epoll_ctl per call) for a wait, while a receive is first tried at once and then
    // parked on the registration the socket already has. Peeking consumes nothing, so a
    // pipelined request stays for the next read.
    client_.async_receive(asio::buffer(&armed_->peeked, 1), tcp_socket::message_peek,
                          [s = armed_, &client = client_](error_code ec, std::size_t) {
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
    unlink();
    if (!armed_ || !armed_->active) return;
    armed_->active = false;
    error_code ignored;
    client_.cancel(ignored);  // nothing else is pending on the client while we wait upstream
}

void watch_roster::enroll(disconnect_watch& watch) {
    watch.enrolled_at_ = tick_;
    waiting_.push_back(watch);
    if (!ticking_) schedule_tick();
}

void watch_roster::schedule_tick() {
    ticking_ = true;
    timer_.expires_after(tick_period);
    timer_.async_wait([this](error_code ec) {
        if (ec == asio::error::operation_aborted) return;  // the roster is going away
        ticking_ = false;
        on_tick();
    });
}

void watch_roster::on_tick() {
    ++tick_;
    // Arm the calls enrolled before the previous tick: they have waited a full period at least.
    while (!waiting_.empty() && waiting_.front().enrolled_at_ + 1 < tick_) {
        disconnect_watch& watch = waiting_.front();
        waiting_.pop_front();
        watch.arm();
    }
    if (!waiting_.empty()) schedule_tick();
}

}  // namespace creditgate::proxy
