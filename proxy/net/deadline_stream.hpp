#pragma once
// deadline_stream: a TCP stream with one deadline, the part of beast::basic_stream the proxy
// uses. Beast arms and cancels a timer around every read and write (a timer-queue insert, a
// removal and a cancelled handler run through the scheduler: ~8% of a proxied request's
// instructions). Here one timer per connection is armed lazily: expires_after() only moves the
// deadline, and the timer, when it fires early, re-arms itself for the later deadline. A keep-alive
// connection that extends its deadline on every request wakes its timer once per timeout period.
//
// Same contract as Beast's: when the deadline passes, the socket is closed, and operations that
// were pending or start afterwards fail with beast::error::timeout. expires_after() applies to
// operations already pending too. One addition: a deadline set with `keep_open` only cancels
// what is pending (still reported as timeout), so that the proxy can still answer on the
// connection — a 408 for a request body that took too long.

#include "proxy/net/coarse_clock.hpp"
#include "proxy/net/http_io.hpp"

#include <boost/asio/associator.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/connect.hpp>
#include <boost/beast/core/error.hpp>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <utility>

namespace creditgate::proxy {

namespace detail {

struct deadline_state {
    using clock = std::chrono::steady_clock;
    static constexpr clock::time_point never = clock::time_point::max();

    explicit deadline_state(tcp_socket s) : socket(std::move(s)), timer(socket.get_executor()) {}

    tcp_socket socket;
    steady_timer timer;
    clock::time_point deadline = never;
    clock::time_point armed_for = never;  // when the timer's pending wait fires (never: none)
    std::uint64_t generation = 0;         // tells a cancelled wait from the current one
    bool timed_out = false;
    bool keep_open = false;               // at the deadline, cancel what is pending instead of closing
};

// Completes an operation on the stream, reporting a deadline that passed as beast::error::timeout.
// Holds the state so that a stream destroyed meanwhile leaves it readable.
template <class Handler>
struct timeout_reporting_handler {
    Handler handler;
    std::shared_ptr<deadline_state> state;

    template <class... Results>
    void operator()(error_code ec, Results&&... results) {
        if (ec && state->timed_out) ec = beast::error::timeout;
        state.reset();
        std::move(handler)(ec, std::forward<Results>(results)...);
    }
};

}  // namespace detail

class deadline_stream {
public:
    using executor_type = executor;
    using lowest_layer_type = tcp_socket::lowest_layer_type;  // asio::ssl::stream asks for it
    using clock = detail::deadline_state::clock;

    explicit deadline_stream(asio::io_context& io) : deadline_stream(tcp_socket(io)) {}
    explicit deadline_stream(tcp_socket socket) : state_(std::make_shared<detail::deadline_state>(std::move(socket))) {}
    deadline_stream(deadline_stream&&) noexcept = default;
    deadline_stream& operator=(deadline_stream&&) = delete;
    deadline_stream(const deadline_stream&) = delete;
    deadline_stream& operator=(const deadline_stream&) = delete;
    // Pending operations hold the state: closing is what ends them.
    ~deadline_stream() {
        if (state_) close();
    }

    executor_type get_executor() noexcept { return state_->socket.get_executor(); }
    tcp_socket& socket() noexcept { return state_->socket; }
    lowest_layer_type& lowest_layer() noexcept { return state_->socket.lowest_layer(); }

    // Ends pending operations with operation_aborted; the connection stays open.
    void cancel() {
        error_code ignored;
        state_->socket.cancel(ignored);
    }

    void close() {
        error_code ignored;
        state_->socket.close(ignored);
        disarm();
    }

    // For the connection's last bytes: the kernel holds what is written from now on until the
    // close or shutdown sends it with the FIN (TCP_CORK), so that a last answer, its TLS
    // close_notify and the FIN reach the client in one segment instead of three; on loopback and
    // in VMs each segment costs the receiver a wake-up. Nothing may wait on the client after this:
    // tcp(7) promises a 200 ms ceiling, but Linux 6.18 held an answer for a whole planted 1 s wait.
    void hold_until_close() {
        const int on = 1;
        ::setsockopt(state_->socket.native_handle(), IPPROTO_TCP, TCP_CORK, &on, sizeof on);
    }

    // From now on, operations must complete within `timeout`, give or take a few ms: the deadline
    // comes from the coarse clock (coarse_clock::deadline_after), as this is called for every read
    // and write.
    void expires_after(clock::duration timeout) { expires_at(coarse_clock::deadline_after(timeout)); }
    void expires_at(clock::time_point deadline, bool keep_open = false) {
        state_->deadline = deadline;
        state_->timed_out = false;
        state_->keep_open = keep_open;
        // A wait that fires at or before the deadline re-arms itself then; only an earlier
        // deadline than the armed one needs the timer now.
        if (state_->armed_for > deadline) arm(state_);
    }
    void expires_never() {
        state_->deadline = detail::deadline_state::never;
        state_->timed_out = false;
        state_->keep_open = false;
        // A pending wait finds no deadline and stops; cancelling it would cost a handler now.
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<detail::deadline_state>& s, const MutableBuffers& b) {
                s->socket.async_read_some(b, detail::timeout_reporting_handler<decltype(handler)>{std::move(handler), s});
            },
            token, state_, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return asio::async_initiate<Token, void(error_code, std::size_t)>(
            [](auto handler, const std::shared_ptr<detail::deadline_state>& s, const ConstBuffers& b) {
                s->socket.async_write_some(b, detail::timeout_reporting_handler<decltype(handler)>{std::move(handler), s});
            },
            token, state_, buffers);
    }

    // Waits until the socket is readable or writable (tls_stream's reads and writes), within the
    // deadline.
    template <class Token>
    auto async_wait(tcp_socket::wait_type what, Token&& token) {
        return asio::async_initiate<Token, void(error_code)>(
            [](auto handler, const std::shared_ptr<detail::deadline_state>& s, tcp_socket::wait_type w) {
                s->socket.async_wait(w, detail::timeout_reporting_handler<decltype(handler)>{std::move(handler), s});
            },
            token, state_, what);
    }

    // Whether the last deadline passed (and closed the socket, or cancelled what was pending).
    bool timed_out() const noexcept { return state_->timed_out; }

    // Connects to the first endpoint of `endpoints` that accepts, within the deadline.
    template <class Endpoints, class Token>
    auto async_connect(const Endpoints& endpoints, Token&& token) {
        return asio::async_initiate<Token, void(error_code, tcp::endpoint)>(
            [](auto handler, const std::shared_ptr<detail::deadline_state>& s, const Endpoints& e) {
                asio::async_connect(s->socket, e, detail::timeout_reporting_handler<decltype(handler)>{std::move(handler), s});
            },
            token, state_, endpoints);
    }

private:
    void disarm() {
        state_->deadline = detail::deadline_state::never;
        if (state_->armed_for != detail::deadline_state::never) {
            state_->armed_for = detail::deadline_state::never;
            ++state_->generation;
            state_->timer.cancel();
        }
    }

    static void arm(const std::shared_ptr<detail::deadline_state>& s) {
        s->armed_for = s->deadline;
        const std::uint64_t generation = ++s->generation;
        s->timer.expires_at(s->deadline);
        s->timer.async_wait([weak = std::weak_ptr<detail::deadline_state>(s), generation](error_code ec) {
            const auto s = weak.lock();
            if (!s || ec || generation != s->generation) return;  // destroyed, cancelled or re-armed
            s->armed_for = detail::deadline_state::never;
            if (s->deadline == detail::deadline_state::never) return;
            if (clock::now() < s->deadline) {
                arm(s);  // the deadline moved on since this wait was armed
                return;
            }
            s->timed_out = true;
            error_code ignored;
            if (s->keep_open) s->socket.cancel(ignored);
            else s->socket.close(ignored);
        });
    }

    std::shared_ptr<detail::deadline_state> state_;
};

// The proxy's TCP connections, to clients and to vendors.
using tcp_stream = deadline_stream;

}  // namespace creditgate::proxy

// The wrapped handler keeps its executor, allocator and cancellation slot: the completion runs
// where the coroutine expects it and with its recycled memory.
template <template <class, class> class Associator, class Handler, class DefaultCandidate>
struct boost::asio::associator<Associator, creditgate::proxy::detail::timeout_reporting_handler<Handler>, DefaultCandidate> {
    using type = typename Associator<Handler, DefaultCandidate>::type;
    static type get(const creditgate::proxy::detail::timeout_reporting_handler<Handler>& h) noexcept {
        return Associator<Handler, DefaultCandidate>::get(h.handler);
    }
    static auto get(const creditgate::proxy::detail::timeout_reporting_handler<Handler>& h, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(h.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(h.handler, c);
    }
};
