#pragma once
// worker: one thread's io_context and what lives only on that thread (its upstream pool, its
// disconnect watches, its request-id counter). A connection stays on one worker for its whole
// life, so none of this needs locks.

#include "proxy/net/disconnect_watch.hpp"
#include "proxy/net/http_io.hpp"
#include "proxy/config/runtime.hpp"
#include "proxy/net/upstream_pool.hpp"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace creditgate::proxy {

class metrics;
class secret_verifier;

// What all workers share: the drain flag, the count of exchanges in flight, the metrics.
struct server_state {
    std::atomic<bool> draining{false};
    std::atomic<std::int64_t> in_flight{0};
    std::function<void()> on_drained;  // called (on some worker) when draining and in_flight reaches 0
    std::string id_prefix;             // random per process, for request ids
    metrics* counters = nullptr;       // owned by the app
    secret_verifier* verifier = nullptr;  // owned by the app: PBKDF2 of hashed client secrets
};

// Counts one exchange in flight for as long as it lives.
class in_flight_guard {
public:
    explicit in_flight_guard(server_state& s) : state_(s) { state_.in_flight.fetch_add(1, std::memory_order_relaxed); }
    ~in_flight_guard();
    in_flight_guard(const in_flight_guard&) = delete;
    in_flight_guard& operator=(const in_flight_guard&) = delete;

private:
    server_state& state_;
};

class worker {
public:
    worker(unsigned index, std::shared_ptr<const runtime> rt, server_state& state);

    asio::io_context& io() { return io_; }
    upstream_pool& pool() { return pool_; }
    watch_roster& watches() { return watches_; }
    server_state& state() { return state_; }
    unsigned index() const { return index_; }

    std::shared_ptr<const runtime> snapshot() const { return runtime_; }
    // Called on this worker's thread (posted) when the config is reloaded.
    void replace_runtime(std::shared_ptr<const runtime> rt) { runtime_ = std::move(rt); }

    std::string next_request_id();

    // Sessions' 16 KiB scratch areas, kept for reuse: a keep-alive connection hands its one back
    // while it idles and takes one for its next request (issue 22); without the pool that is a
    // 16 KiB new[] and delete[] per request, ~3 % of an intercepted call's CPU.
    static constexpr std::size_t scratch_bytes = 16 * 1024;
    std::unique_ptr<char[]> take_scratch();
    void give_scratch(std::unique_ptr<char[]> block);
    // Every 100 ms: write out buffered access lines; every 5 s: close stale pooled connections;
    // every 10 s (worker 0): give the allocator's free pages back.
    void start_housekeeping();
    // Runs the event loop on the calling thread until stopped.
    void run();

private:
    static void release_free_memory();

    unsigned index_;
    // One thread runs this context and every socket on it, so the reactor's per-descriptor
    // locks are pure cost; posting and registration (other threads hand us sockets) stay locked.
    asio::io_context io_{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
    std::shared_ptr<const runtime> runtime_;
    server_state& state_;
    upstream_pool pool_;
    watch_roster watches_{io_};
    std::uint64_t next_id_ = 0;
    std::unique_ptr<steady_timer> housekeeping_timer_;
    std::vector<std::unique_ptr<char[]>> spare_scratch_;  // at most max_spare_scratch
    static constexpr std::size_t max_spare_scratch = 256;  // 4 MiB a worker at most
};

}  // namespace creditgate::proxy
