#include "proxy/worker.hpp"

#include "proxy/logging.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

// Weak: the sanitizer builds link no tcmalloc, and then there is nothing to call.
extern "C" void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

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

// tcmalloc keeps what a burst freed for the next one; after thousands of connections closed that
// is hundreds of MB nobody else can use. Every 10 s its free pages go back to the system (a
// madvise per free span: ~1 ms when there is much to give back, nothing when there is not).
void worker::release_free_memory() {
    if (MallocExtension_ReleaseFreeMemory) MallocExtension_ReleaseFreeMemory();
}

std::unique_ptr<char[]> worker::take_scratch() {
    if (spare_scratch_.empty()) return std::unique_ptr<char[]>(new char[scratch_bytes]);
    auto block = std::move(spare_scratch_.back());
    spare_scratch_.pop_back();
    return block;
}

void worker::give_scratch(std::unique_ptr<char[]> block) {
    if (block && spare_scratch_.size() < max_spare_scratch) spare_scratch_.push_back(std::move(block));
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
            if (index_ == 0 && tick % 100 == 0) release_free_memory();
        }
    }, asio::detached);
}

void worker::run() {
    io_.run();
    flush_access_log();  // this thread's buffered access lines
}

}  // namespace creditgate::proxy
