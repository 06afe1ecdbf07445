#include "proxy/exchange/secret_verifier.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

namespace creditgate::proxy {

secret_verifier::secret_verifier(unsigned threads) : pool_(threads == 0 ? 1 : threads) {}

secret_verifier::~secret_verifier() { pool_.join(); }

task<const client_identity*> secret_verifier::verify(std::shared_ptr<const runtime> rt, client_directory::check check) {
    if (waiting_.fetch_add(1, std::memory_order_relaxed) >= max_waiting) {
        waiting_.fetch_sub(1, std::memory_order_relaxed);
        std::lock_guard lock(log_mutex_);
        if (auto quiet = overflow_log_.admit(log_limiter::clock::now()))
            spdlog::warn("auth: {} hashed-secret checks already waiting; refused one ({} more since the last line)",
                         max_waiting, *quiet);
        co_return nullptr;
    }
    struct leave {
        std::atomic<int>& waiting;
        ~leave() { waiting.fetch_sub(1, std::memory_order_relaxed); }
    } left{waiting_};
    // The hash runs on the pool; its answer is posted back to the worker that asked. (Plain
    // handlers rather than co_spawn: the answer crosses threads exactly once, visibly.)
    co_return co_await asio::async_initiate<decltype(use_task), void(const client_identity*)>(
        [this](auto handler, std::shared_ptr<const runtime> rt, client_directory::check check) {
            auto home = asio::make_work_guard(asio::get_associated_executor(handler));
            asio::post(pool_, [handler = std::move(handler), home = std::move(home), rt = std::move(rt),
                               check = std::move(check)]() mutable {
                const client_identity* who = rt->clients().verify_hashed(check);
                auto ex = home.get_executor();
                asio::post(ex, [handler = std::move(handler), who]() mutable { std::move(handler)(who); });
            });
        },
        use_task, std::move(rt), std::move(check));
}

}  // namespace creditgate::proxy
