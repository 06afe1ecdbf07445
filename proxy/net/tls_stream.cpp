#include "proxy/net/tls_stream.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace creditgate::proxy {

namespace {

// The thread's scratch for one OpenSSL call: the ciphertext it writes (gathered so that it leaves
// in one send) and the plaintext of a write of several buffers (joined so that it is one record).
// Only ever filled and emptied within one call on this thread, except for what the socket
// refuses, which moves to the stream's own unsent_.
struct scratch_area {
    static constexpr std::size_t max_record = 16 * 1024;     // TLS's largest plaintext record
    static constexpr std::size_t max_write = 4 * max_record;  // plaintext taken per write
    static constexpr std::size_t output_capacity = max_write + 4 * 1024;  // its records, with headroom

    std::unique_ptr<char[]> output = std::make_unique<char[]>(output_capacity);
    std::size_t output_used = 0;
    tls_stream* output_owner = nullptr;
    std::unique_ptr<char[]> joined = std::make_unique<char[]>(max_record);
};

scratch_area& scratch() {
    thread_local scratch_area area;
    return area;
}

}  // namespace

// OpenSSL's view of the socket: reads are recv() (after the bytes read before the handshake),
// writes land in the scratch area and leave when the OpenSSL call returns (tls_op flushes).
struct socket_bio {
    static tls_stream& of(BIO* b) { return *static_cast<tls_stream*>(BIO_get_data(b)); }

    static int read(BIO* b, char* out, std::size_t size, std::size_t* got) {
        BIO_clear_retry_flags(b);
        const int r = of(b).receive(out, size, *got);
        if (r < 0) BIO_set_retry_read(b);
        return r > 0 ? 1 : 0;
    }

    static int write(BIO* b, const char* data, std::size_t size, std::size_t* written) {
        BIO_clear_retry_flags(b);
        of(b).emit(data, size);
        *written = size;
        return 1;
    }

    static long ctrl(BIO* b, int command, long, void*) {
        switch (command) {
            case BIO_CTRL_FLUSH: return 1;  // the op flushes after the call
            case BIO_CTRL_PENDING: return static_cast<long>(of(b).early_input_.size() - of(b).early_used_);
            default: return 0;
        }
    }

    static BIO_METHOD* method() {
        static BIO_METHOD* const m = [] {
            BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "creditgate socket");
            BIO_meth_set_read_ex(bm, read);
            BIO_meth_set_write_ex(bm, write);
            BIO_meth_set_ctrl(bm, ctrl);
            return bm;
        }();
        return m;
    }
};

tls_stream::tls_stream(tcp_stream& tcp, asio::ssl::context& context) : tcp_(tcp), ssl_(SSL_new(context.native_handle())) {
    BIO* bio = ssl_ ? BIO_new(socket_bio::method()) : nullptr;
    if (!bio) {
        SSL_free(ssl_);
        throw boost::system::system_error(error_code(static_cast<int>(ERR_get_error()), asio::error::get_ssl_category()),
                                          "tls_stream");
    }
    BIO_set_data(bio, this);
    BIO_set_init(bio, 1);
    SSL_set_bio(ssl_, bio, bio);
    // Partial writes: async_write_some's contract. Read-ahead: one recv takes every record that
    // has arrived. Release buffers: an idle connection keeps no record buffer (also set on the
    // contexts, repeated here so that no context can lose it).
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    SSL_set_read_ahead(ssl_, 1);
    error_code ignored;
    tcp_.socket().native_non_blocking(true, ignored);
}

tls_stream::~tls_stream() {
    auto& area = scratch();
    if (area.output_owner == this) {
        area.output_used = 0;
        area.output_owner = nullptr;
    }
    SSL_free(ssl_);
}

bool tls_stream::has_buffered_input() const {
    return SSL_has_pending(ssl_) == 1 || early_used_ < early_input_.size();
}

void tls_stream::start_handshake(role r, asio::const_buffer already_read) {
    early_input_.assign(static_cast<const char*>(already_read.data()), already_read.size());
    early_used_ = 0;
    if (r == role::server) SSL_set_accept_state(ssl_);
    else SSL_set_connect_state(ssl_);
}

tls_stream::want tls_stream::try_handshake(error_code& ec) {
    ERR_clear_error();
    io_errno_ = 0;
    const int r = SSL_do_handshake(ssl_);
    return r == 1 ? want::nothing : outcome(r, ec);
}

tls_stream::want tls_stream::try_read(asio::mutable_buffer into, std::size_t& n, error_code& ec) {
    n = 0;
    if (into.size() == 0) return want::nothing;
    ERR_clear_error();
    io_errno_ = 0;
    const int r = SSL_read_ex(ssl_, into.data(), into.size(), &n);
    return r == 1 ? want::nothing : outcome(r, ec);
}

tls_stream::want tls_stream::try_write(std::span<const asio::const_buffer> pieces, std::size_t& n, error_code& ec) {
    n = 0;
    if (pieces.empty()) return want::nothing;
    const void* data = pieces[0].data();
    std::size_t size = std::min(pieces[0].size(), scratch_area::max_write);
    if (pieces.size() > 1 && size < scratch_area::max_record) {
        // Join the pieces into one record (a head, chunk framing and body would otherwise be a
        // record each, each with its header, tag and the peer's work to open it). A retry after
        // a wait joins the same bytes again: the caller's buffers are unchanged until completion.
        char* joined = scratch().joined.get();
        size = 0;
        for (const auto& piece : pieces) {
            const std::size_t take = std::min(piece.size(), scratch_area::max_record - size);
            std::memcpy(joined + size, piece.data(), take);
            size += take;
            if (size == scratch_area::max_record) break;
        }
        data = joined;
    }
    ERR_clear_error();
    io_errno_ = 0;
    const int r = SSL_write_ex(ssl_, data, size, &n);
    return r == 1 ? want::nothing : outcome(r, ec);
}

tls_stream::want tls_stream::try_shutdown(error_code& ec) {
    ERR_clear_error();
    io_errno_ = 0;
    int r = SSL_shutdown(ssl_);
    if (r == 0) r = SSL_shutdown(ssl_);  // ours is out; now the peer's, unless already marked received
    if (r == 1) return want::nothing;
    if (r == 0) return want::input;
    return outcome(r, ec);
}

// An OpenSSL call that did not succeed: what it waits for, or the error in Asio's terms (the ones
// the relay and the session test for: eof for a close_notify, stream_truncated for a FIN without
// one, timeout when the connection's deadline closed the socket).
tls_stream::want tls_stream::outcome(int ret, error_code& ec) {
    const int error = SSL_get_error(ssl_, ret);
    if (error == SSL_ERROR_WANT_READ) {
        if (io_errno_ != 0) ec = tcp_.socket().is_open() ? error_code(io_errno_, asio::error::get_system_category()) : closed_error();
        else if (eof_) ec = asio::ssl::error::stream_truncated;
        else return want::input;
        ERR_clear_error();
        return want::nothing;
    }
    if (error == SSL_ERROR_WANT_WRITE) return want::output;
    const unsigned long queued = ERR_peek_error();
    if (!tcp_.socket().is_open()) {
        ec = closed_error();
    } else if (error == SSL_ERROR_ZERO_RETURN) {
        ec = asio::error::eof;
    } else if (error == SSL_ERROR_SYSCALL && queued == 0) {
        ec = asio::ssl::error::stream_truncated;
    } else if (ERR_GET_REASON(queued) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        ec = asio::ssl::error::stream_truncated;
    } else {
        ec = error_code(static_cast<int>(queued), asio::error::get_ssl_category());
    }
    ERR_clear_error();
    return want::nothing;
}

error_code tls_stream::closed_error() const {
    return tcp_.timed_out() ? error_code(beast::error::timeout) : error_code(asio::error::bad_descriptor);
}

int tls_stream::receive(char* out, std::size_t size, std::size_t& got) {
    got = 0;
    if (early_used_ < early_input_.size()) {
        got = std::min(size, early_input_.size() - early_used_);
        std::memcpy(out, early_input_.data() + early_used_, got);
        early_used_ += got;
        if (early_used_ == early_input_.size()) {
            std::string().swap(early_input_);
            early_used_ = 0;
        }
        return 1;
    }
    for (;;) {
        const ssize_t r = ::recv(tcp_.socket().native_handle(), out, size, 0);
        if (r > 0) {
            got = static_cast<std::size_t>(r);
            return 1;
        }
        if (r < 0 && errno == EINTR) continue;
        // The peer's FIN and socket errors are kept from OpenSSL, as Asio's stream does: told of a
        // FIN without close_notify, OpenSSL raises a fatal alert, which also marks the connection's
        // session not resumable (a vendor that closes after each answer would cost a full
        // handshake every time). It hears "retry", and the operation reports what happened.
        if (r == 0) eof_ = true;
        else if (errno != EAGAIN && errno != EWOULDBLOCK) io_errno_ = errno;
        return -1;
    }
}

void tls_stream::emit(const char* data, std::size_t size) {
    auto& area = scratch();
    if (area.output_owner != this && area.output_used > 0) {
        // Another stream's output, left unsent (cannot happen while every call is flushed at
        // once; kept correct anyway): it becomes that stream's unsent_.
        area.output_owner->unsent_.insert(area.output_owner->unsent_.end(), area.output.get(),
                                          area.output.get() + area.output_used);
        area.output_used = 0;
    }
    const bool fits = unsent_.empty() && area.output_used + size <= scratch_area::output_capacity;
    if (!fits) {
        if (area.output_owner == this && area.output_used > 0) {
            unsent_.insert(unsent_.end(), area.output.get(), area.output.get() + area.output_used);
            area.output_used = 0;
        }
        unsent_.insert(unsent_.end(), data, data + size);
        return;
    }
    std::memcpy(area.output.get() + area.output_used, data, size);
    area.output_used += size;
    area.output_owner = this;
}

bool tls_stream::flush_output(error_code& ec) {
    auto& area = scratch();
    const bool from_area = unsent_.empty();
    if (from_area && (area.output_owner != this || area.output_used == 0)) return true;
    const char* data = from_area ? area.output.get() : unsent_.data();
    const std::size_t size = from_area ? area.output_used : unsent_.size();
    std::size_t sent = 0;
    while (sent < size) {
        const ssize_t r = ::send(tcp_.socket().native_handle(), data + sent, size - sent, MSG_NOSIGNAL);
        if (r >= 0) {
            sent += static_cast<std::size_t>(r);
            continue;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
        // Nothing more will go: the error ends the operation, and whatever waits is dropped.
        ec = tcp_.socket().is_open() ? error_code(errno, asio::error::get_system_category()) : closed_error();
        if (from_area) {
            area.output_used = 0;
            area.output_owner = nullptr;
        }
        std::vector<char>().swap(unsent_);
        return true;
    }
    if (from_area) {
        if (sent < size) unsent_.assign(data + sent, data + size);
        area.output_used = 0;
        area.output_owner = nullptr;
    } else if (sent == unsent_.size()) {
        std::vector<char>().swap(unsent_);
    } else if (sent > 0) {
        unsent_.erase(unsent_.begin(), unsent_.begin() + static_cast<std::ptrdiff_t>(sent));
    }
    return unsent_.empty();
}

}  // namespace creditgate::proxy
