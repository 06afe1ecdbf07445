#pragma once
// tls_stream: TLS straight over a connection's socket, for both legs of an intercepted call
// (the client's TLS and the vendor's), in place of asio::ssl::stream.
//
// Why not Asio's (under Beast's ssl_stream): its engine runs OpenSSL over a BIO pair and keeps two
// 17 KiB buffers per stream plus the pair's own (68 KiB per connection however idle), and copies
// every record twice on its way through the pair; Beast's flat_stream joins a head and its body
// into a buffer it allocates and frees for every write. Here OpenSSL reads from and writes to the
// socket through a BIO of our own:
// - reads go straight from the socket into OpenSSL's record buffer (read-ahead: one recv for as
//   many records as have arrived), and SSL_MODE_RELEASE_BUFFERS frees that buffer when it is
//   empty, so an idle connection holds no buffer at all;
// - what one OpenSSL call writes (a session ticket and the answer, a handshake flight) is
//   gathered in a per-thread area and leaves in one send; only what the socket refuses is kept,
//   per stream, until it can go;
// - a write of several buffers (head, chunk framing, body) becomes one record of up to 16 KiB,
//   joined in the per-thread area.
// Waiting is the socket's own readiness (deadline_stream::async_wait), so a connection's deadline
// and cancellation work as for plain TCP.
//
// One read and one write may be outstanding at once, as with Asio's stream; everything runs on
// the connection's thread.

#include "proxy/net/deadline_stream.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/ssl.h>

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace creditgate::proxy {

class tls_stream;

namespace detail {

// What one attempt at a TLS operation needs before it can go on.
enum class tls_want : unsigned char { nothing, input, output };

// One TLS operation as a handler: try the step; when OpenSSL needs the socket, wait until it is
// ready and try again. Output the step produced goes out before the operation waits for input or
// completes. `Sized`: completes with (error_code, bytes), else with (error_code).
template <class Handler, class Step, bool Sized>
struct tls_op {
    tls_op(tls_stream* s, Handler h, Step st) : stream(s), handler(std::move(h)), step(std::move(st)) {}

    tls_stream* stream;
    Handler handler;
    Step step;
    std::size_t bytes = 0;
    error_code result;
    bool done = false;
    bool waited = false;

    void operator()(error_code ec = {});
    void complete(error_code ec);
};

}  // namespace detail

class tls_stream {
public:
    enum class role : unsigned char { client, server };
    using executor_type = tcp_stream::executor_type;

    tls_stream(tcp_stream& tcp, asio::ssl::context& context);
    ~tls_stream();
    tls_stream(const tls_stream&) = delete;  // OpenSSL's BIO points here
    tls_stream& operator=(const tls_stream&) = delete;

    executor_type get_executor() noexcept { return tcp_.get_executor(); }
    SSL* native_handle() noexcept { return ssl_; }

    // Whether bytes of the peer are in hand that no read has returned yet (decrypted or not).
    bool has_buffered_input() const;

    // `already_read`: bytes of the peer read off the socket before the handshake (a ClientHello
    // that came with a CONNECT head); they are copied, the caller may drop them.
    template <class Token>
    auto async_handshake(role r, asio::const_buffer already_read, Token&& token) {
        start_handshake(r, already_read);
        return initiate<false>([](tls_stream& s, std::size_t&, error_code& ec) { return s.try_handshake(ec); },
                               std::forward<Token>(token));
    }
    template <class Token>
    auto async_handshake(role r, Token&& token) {
        return async_handshake(r, asio::const_buffer{}, std::forward<Token>(token));
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        asio::mutable_buffer first;
        for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it) {
            first = *it;
            if (first.size() > 0) break;
        }
        return initiate<true>([first](tls_stream& s, std::size_t& n, error_code& ec) { return s.try_read(first, n, ec); },
                              std::forward<Token>(token));
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        gathered pieces;
        for (auto it = asio::buffer_sequence_begin(buffers);
             it != asio::buffer_sequence_end(buffers) && pieces.count < pieces.buffers.size(); ++it) {
            if (it->size() > 0) pieces.buffers[pieces.count++] = *it;
        }
        return initiate<true>([pieces](tls_stream& s, std::size_t& n, error_code& ec) { return s.try_write(pieces.view(), n, ec); },
                              std::forward<Token>(token));
    }

    // Sends our close_notify. With SSL_RECEIVED_SHUTDOWN set it does not wait for the peer's.
    template <class Token>
    auto async_shutdown(Token&& token) {
        return initiate<false>([](tls_stream& s, std::size_t&, error_code& ec) { return s.try_shutdown(ec); },
                               std::forward<Token>(token));
    }

private:
    template <class, class, bool>
    friend struct detail::tls_op;
    friend struct socket_bio;

    using want = detail::tls_want;

    struct gathered {
        std::array<asio::const_buffer, 8> buffers;
        std::size_t count = 0;
        std::span<const asio::const_buffer> view() const { return {buffers.data(), count}; }
    };

    template <bool Sized, class Step, class Token>
    auto initiate(Step step, Token&& token) {
        using signature = std::conditional_t<Sized, void(error_code, std::size_t), void(error_code)>;
        return asio::async_initiate<Token, signature>(
            [this](auto handler, Step s) {
                detail::tls_op<decltype(handler), Step, Sized>(this, std::move(handler), std::move(s))();
            },
            token, std::move(step));
    }

    void start_handshake(role r, asio::const_buffer already_read);
    want try_handshake(error_code& ec);
    want try_read(asio::mutable_buffer into, std::size_t& n, error_code& ec);
    want try_write(std::span<const asio::const_buffer> pieces, std::size_t& n, error_code& ec);
    want try_shutdown(error_code& ec);
    want outcome(int ret, error_code& ec);

    // Sends the output OpenSSL produced: true when all of it left (or on error, in `ec`).
    bool flush_output(error_code& ec);
    error_code closed_error() const;

    // The BIO's side (tls_stream.cpp).
    int receive(char* out, std::size_t size, std::size_t& got);
    void emit(const char* data, std::size_t size);

    tcp_stream& tcp_;
    SSL* ssl_ = nullptr;
    std::string early_input_;        // peer bytes read before the handshake, not yet given to OpenSSL
    std::size_t early_used_ = 0;
    std::vector<char> unsent_;       // output the socket refused; empty (and unallocated) normally
    int io_errno_ = 0;               // the socket's error in the last call (OpenSSL heard "retry")
    bool eof_ = false;               // the peer's FIN was read (likewise)
};

namespace detail {

template <class Handler, class Step, bool Sized>
void tls_op<Handler, Step, Sized>::operator()(error_code ec) {
    if (ec) return complete(ec);  // the wait failed: timed out, cancelled, closed
    tls_want need = tls_want::nothing;
    if (!done) {
        need = step(*stream, bytes, result);
        done = need == tls_want::nothing;
    }
    if (!stream->flush_output(ec)) {
        waited = true;
        stream->tcp_.async_wait(tcp_socket::wait_write, std::move(*this));
        return;
    }
    if (ec) return complete(ec);
    if (done) return complete(result);
    waited = true;
    stream->tcp_.async_wait(need == tls_want::input ? tcp_socket::wait_read : tcp_socket::wait_write, std::move(*this));
}

template <class Handler, class Step, bool Sized>
void tls_op<Handler, Step, Sized>::complete(error_code ec) {
    // A completion from within the initiating call would run the awaiting coroutine inside
    // itself: it is posted, as Asio's sockets do with an operation that completes at once.
    if constexpr (Sized) {
        if (waited) std::move(handler)(ec, bytes);
        else asio::post(asio::append(std::move(handler), ec, bytes));
    } else {
        if (waited) std::move(handler)(ec);
        else asio::post(asio::append(std::move(handler), ec));
    }
}

}  // namespace detail

}  // namespace creditgate::proxy

// The operation keeps its handler's executor, allocator and cancellation slot.
template <template <class, class> class Associator, class Handler, class Step, bool Sized, class DefaultCandidate>
struct boost::asio::associator<Associator, creditgate::proxy::detail::tls_op<Handler, Step, Sized>, DefaultCandidate> {
    using type = typename Associator<Handler, DefaultCandidate>::type;
    static type get(const creditgate::proxy::detail::tls_op<Handler, Step, Sized>& op) noexcept {
        return Associator<Handler, DefaultCandidate>::get(op.handler);
    }
    static auto get(const creditgate::proxy::detail::tls_op<Handler, Step, Sized>& op, const DefaultCandidate& c) noexcept
        -> decltype(Associator<Handler, DefaultCandidate>::get(op.handler, c)) {
        return Associator<Handler, DefaultCandidate>::get(op.handler, c);
    }
};
