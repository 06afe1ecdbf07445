#pragma once
// writer_priority: how the ledger writer thread competes for the CPU. Writing rows is batch work:
// on a saturated machine it should run when a core would otherwise idle, never preempt a request
// thread. On the 2-core bench box a writer at nice +5 still cost ~12% of the proxy's requests/s
// and doubled its p99; as SCHED_IDLE it cost ~3% and nothing at p99.
//
// A SCHED_IDLE thread can starve while every core is busy, and the ledger must not fall behind
// (kill -9 loses what is unwritten). So the writer watches how late it wakes: late by more than
// `lag_limit`, or with someone waiting on a flush (reload, shutdown), it runs at normal priority
// again for `hold`, then tries the background again. Leaving SCHED_IDLE needs a right the process
// may lack (CAP_SYS_NICE, or RLIMIT_NICE ≥ 20 — missing in most containers): the OS is asked once,
// on a throwaway thread, and without it the writer stays at nice +5 for good.
//
// Priority alone does not keep a batch off the request threads' backs: under load the writer is
// mostly in the foreground (late), and a 100 ms batch is milliseconds of CPU in one go. A
// burst_limiter splits it into short slices.

#include <chrono>
#include <cstdint>

namespace creditgate::policies {

// The decision, apart from the OS: when to run in the background and when to come forward.
class writer_pacing {
public:
    using clock = std::chrono::steady_clock;
    enum class mode { background, foreground };

    writer_pacing(std::chrono::milliseconds lag_limit, std::chrono::milliseconds hold) : lag_limit_(lag_limit), hold_(hold) {}

    // Called each time the writer wakes: `late` is how long after its due time it got to run.
    mode on_wake(clock::time_point now, clock::duration late, bool someone_waits) {
        if (someone_waits || late > lag_limit_) {
            mode_ = mode::foreground;
            until_ = now + hold_;
        } else if (mode_ == mode::foreground && now >= until_) {
            mode_ = mode::background;
        }
        return mode_;
    }
    mode current() const { return mode_; }

private:
    std::chrono::milliseconds lag_limit_, hold_;
    mode mode_ = mode::background;
    clock::time_point until_{};
};

// Keeps the writer's bursts short. Run in one go, a batch holds a core for milliseconds, and a
// request thread queued behind it stalls every exchange it serves for that long. Long loops on
// the writer call pause_point(), which gives the core up once a slice has been used: a yield
// that returns at once when no other thread wants the core. Bench box, 2 cores, `bench/run.sh`
// (bench/README.md): SQLite ledger p99 3.1–3.5 ms in one burst per batch, 1.4–1.65 ms in 200 µs
// slices, level with the memory ledger, which has no writer.
class burst_limiter {
public:
    using clock = std::chrono::steady_clock;
    explicit burst_limiter(clock::duration slice) : slice_(slice), since_(clock::now()) {}

    // One clock read unless the slice is used up; call it every few dozen rows.
    void pause_point() {
        const auto now = clock::now();
        if (now - since_ < slice_) return;
        yield();
        since_ = clock::now();
    }
    // After the thread slept: the slice starts afresh.
    void restart() { since_ = clock::now(); }
    std::uint64_t yields() const { return yields_; }

private:
    void yield();

    clock::duration slice_;
    clock::time_point since_;
    std::uint64_t yields_ = 0;
};

// The calling thread's scheduling, per writer_pacing's mode.
class writer_priority {
public:
    // Probes (once per process) whether a thread may come back from SCHED_IDLE.
    writer_priority();
    void apply(writer_pacing::mode m);  // on the writer thread; cheap when nothing changes
    bool can_idle() const { return can_idle_; }

private:
    bool can_idle_;
    bool applied_ = false;
    writer_pacing::mode current_ = writer_pacing::mode::foreground;
};

}  // namespace creditgate::policies
