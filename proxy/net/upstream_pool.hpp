#pragma once
// upstream_pool: idle keep-alive connections to vendors, owned by one worker thread (so no
// locking), most recently used first, checked for liveness before reuse.

#include "proxy/net/upstream_stream.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace creditgate::proxy {

struct upstream_connection {
    // Pre-sized: Beast otherwise reads 512 bytes at a time, which costs a recvmsg and a
    // client write per piece of a small answer.
    static constexpr std::size_t read_buffer_bytes = 16 * 1024;
    explicit upstream_connection(asio::io_context& ioc) : stream(ioc) { buffer.reserve(read_buffer_bytes); }
    ~upstream_connection();

    upstream_stream stream;
    beast::flat_buffer buffer;  // read buffer; empty between complete messages
    std::string key;            // pool key: scheme, host and port
    std::shared_ptr<asio::ssl::context> tls_context;  // outlives the TLS stream across reloads
    std::chrono::steady_clock::time_point idle_since;  // coarse_clock
    std::uint64_t uses = 0;     // completed exchanges; > 0 means "reused", for the retry rule

    // Nothing of the last answer is left over: no byte read past its end (in our buffer, or
    // decrypted or not in the TLS layer). A connection that fails this is never pooled, so a
    // vendor answer that breaks its own framing cannot become another call's answer (SPEC §5).
    bool clean_between_messages();
};

std::string upstream_key(bool tls, std::string_view host, std::uint16_t port);

class upstream_pool {
public:
    upstream_pool(std::size_t max_idle_per_key, std::chrono::seconds idle_limit)
        : max_idle_per_key_(max_idle_per_key), idle_limit_(idle_limit) {}

    // A live idle connection for `key`, or null. Only a connection on which nothing arrived
    // while it idled is live: bytes there belong to no request we sent (looks_alive).
    std::unique_ptr<upstream_connection> take(const std::string& key);
    // Keeps a connection whose last exchange completed cleanly (clean_between_messages()).
    void put(std::unique_ptr<upstream_connection> connection);
    // Closes connections idle longer than the limit; those idle a second or more free their read
    // buffer (take() gives it back).
    void prune();
    void clear() { idle_.clear(); }
    std::size_t idle_count() const;

private:
    static bool looks_alive(upstream_connection& connection, std::chrono::steady_clock::time_point now);

    std::size_t max_idle_per_key_;
    std::chrono::seconds idle_limit_;
    std::unordered_map<std::string, std::vector<std::unique_ptr<upstream_connection>>> idle_;
};

}  // namespace creditgate::proxy
