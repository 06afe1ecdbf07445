#include "proxy/net/upstream_pool.hpp"

#include "certs/upstream_tls.hpp"
#include "proxy/net/coarse_clock.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <cerrno>

namespace creditgate::proxy {

upstream_connection::~upstream_connection() {
    // Idle connections end without close_notify; their TLS session must stay resumable.
    if (stream.is_tls()) certs::keep_session_resumable(stream.tls().native_handle());
}

std::string upstream_key(bool tls, std::string_view host, std::uint16_t port) {
    std::string key;
    key.reserve(host.size() + 10);
    key += tls ? "s:" : "p:";
    key += host;
    key += ':';
    key += std::to_string(port);
    return key;
}

bool upstream_connection::clean_between_messages() {
    if (buffer.size() != 0) return false;
    if (!stream.is_tls()) return true;
    return !stream.tls().has_buffered_input();
}

bool upstream_pool::looks_alive(upstream_connection& connection, std::chrono::steady_clock::time_point now) {
    auto& socket = connection.stream.socket();
    if (!socket.is_open()) return false;
    // Bytes a vendor sends past its answer a moment later must not be read as the answer to
    // another call. Under load a connection comes back within the same coarse clock tick (a few
    // ms): bytes arriving in that instant race the next request and are no more telling than a
    // real answer, so the peek (a syscall, ~3% of a request's CPU) is saved; a connection that
    // idled longer is always asked. A peer that closed shows up as EOF.
    if (now == connection.idle_since) return true;
    char byte;
    const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
    // EOF, or bytes we did not ask for. On TLS those could only be a close_notify or records
    // past the answer: session tickets come right after the handshake, before the first answer.
    return false;
}

std::unique_ptr<upstream_connection> upstream_pool::take(const std::string& key) {
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto& stack = it->second;
    const auto now = coarse_clock::now();
    while (!stack.empty()) {
        std::unique_ptr<upstream_connection> c = std::move(stack.back());
        stack.pop_back();
        if (now - c->idle_since < idle_limit_ && looks_alive(*c, now)) {
            if (c->buffer.capacity() < upstream_connection::read_buffer_bytes) c->buffer.reserve(upstream_connection::read_buffer_bytes);
            return c;
        }
    }
    return nullptr;
}

void upstream_pool::put(std::unique_ptr<upstream_connection> connection) {
    connection->idle_since = coarse_clock::now();
    auto& stack = idle_[connection->key];
    if (stack.size() >= max_idle_per_key_) stack.erase(stack.begin());  // drop the stalest
    stack.push_back(std::move(connection));
}

void upstream_pool::prune() {
    const auto now = coarse_clock::now();
    for (auto it = idle_.begin(); it != idle_.end();) {
        auto& stack = it->second;
        std::erase_if(stack, [&](const auto& c) { return now - c->idle_since >= idle_limit_; });
        // A connection that idled a while gives its read buffer back until it is taken again
        // (10,000 pooled vendor connections held 160 MB of empty buffers); one in steady use comes
        // back within milliseconds and keeps it.
        for (auto& c : stack) {
            if (now - c->idle_since >= std::chrono::seconds(1)) c->buffer.shrink_to_fit();
        }
        it = stack.empty() ? idle_.erase(it) : std::next(it);
    }
}

std::size_t upstream_pool::idle_count() const {
    std::size_t n = 0;
    for (const auto& [key, stack] : idle_) n += stack.size();
    return n;
}

}  // namespace creditgate::proxy
