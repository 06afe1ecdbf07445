#pragma once
// secret_verifier: the PBKDF2 of a hashed client secret (SPEC §13) on threads of its own. A hash
// costs ~0.12 s of CPU: on a worker it would stall every connection of that thread. Each distinct
// credential pays it once per process (client_directory caches the verified one).

#include "proxy/config/runtime.hpp"
#include "proxy/net/http_io.hpp"
#include "proxy/net/log_limiter.hpp"

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <memory>
#include <mutex>

namespace creditgate::proxy {

class secret_verifier {
public:
    // At most this many checks wait or run at once; past it a check fails at once (407), so a
    // flood of guessed secrets costs bounded CPU and memory and never queues a real client for long.
    static constexpr int max_waiting = 64;

    explicit secret_verifier(unsigned threads);
    ~secret_verifier();  // waits for the hash in progress, if any
    secret_verifier(const secret_verifier&) = delete;
    secret_verifier& operator=(const secret_verifier&) = delete;

    // The client `check` proves, or null. `rt` keeps the directory alive while the hash runs.
    task<const client_identity*> verify(std::shared_ptr<const runtime> rt, client_directory::check check);

private:
    asio::thread_pool pool_;
    std::atomic<int> waiting_{0};
    std::mutex log_mutex_;  // the limiter is called from every worker
    log_limiter overflow_log_;
};

}  // namespace creditgate::proxy
