#include "proxy/worker.hpp"

#include "proxy/logging.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

namespace creditgate::proxy {

in_flight_guard::~in_flight_guard() {
    if (state_.in_flight.fetch_sub(1, std::memory_order_acq_rel) == 1 && state_.draining.load() && state_.on_drained)
        state_.on_drained();
}

worker::worker(unsigned index, std::shared_ptr<const runtime> rt, server_state& state)
    : index_(index),
      runtime_(std::move(rt)),
      state_(state),
      pool_(64, seconds(runtime_->limits().upstream_idle_s)) {}

std::string worker::next_request_id() {
    static constexpr char digits[] = "0123456789abcdef";
    std::string id = state_.id_prefix;
    id += digits[index_ & 0xf];
    char buf[16];
    std::uint64_t n = ++next_id_;
    for (int i = 15; i >= 0; --i, n >>= 4) buf[i] = digits[n & 0xf];
    id.append(buf + 6, 10);  // 40 bits of counter per worker and process
    return id;
}

void worker::start_housekeeping() {
    housekeeping_timer_ = std::make_unique<steady_timer>(io_);
    asio::co_spawn(io_, [this]() -> task<void> {
        for (unsigned tick = 1;; ++tick) {
            housekeeping_timer_->expires_after(std::chrono::milliseconds(100));
            auto [ec] = co_await housekeeping_timer_->async_wait(use_nothrow);
            if (ec) co_return;  // cancelled at shutdown
            flush_access_log();
            // Rate buckets refill and periods end without any call settling: let waiters in.
            if (index_ == 0) runtime_->metering()->poke();
            if (tick % 50 == 0) pool_.prune();
        }
    }, asio::detached);
}

void worker::run() {
    io_.run();
    flush_access_log();  // this thread's buffered access lines
}

}  // namespace creditgate::proxy
