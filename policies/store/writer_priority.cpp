#include "policies/store/writer_priority.hpp"

#include <thread>

#ifdef __linux__
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace creditgate::policies {
namespace {

#ifdef __linux__
// sched_setscheduler(0, ...) acts on the calling thread on Linux.
bool set_policy(int policy) {
    sched_param param{};
    return sched_setscheduler(0, policy, &param) == 0;
}

bool may_leave_idle() {
    static const bool answer = [] {
        bool ok = false;
        // A thread of its own: if the way back is refused, only the probe is left in SCHED_IDLE.
        std::thread probe([&] { ok = set_policy(SCHED_IDLE) && set_policy(SCHED_OTHER); });
        probe.join();
        return ok;
    }();
    return answer;
}
#endif

}  // namespace

writer_priority::writer_priority()
#ifdef __linux__
    : can_idle_(may_leave_idle())
#else
    : can_idle_(false)
#endif
{
}

void burst_limiter::yield() {
    ++yields_;
    std::this_thread::yield();
}

void writer_priority::apply(writer_pacing::mode m) {
    if (applied_ && m == current_) return;
#ifdef __linux__
    if (!can_idle_) {
        // No way back from SCHED_IDLE: a fixed, mild preference for request threads instead.
        if (!applied_) setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), 5);
    } else if (m == writer_pacing::mode::background) {
        set_policy(SCHED_IDLE);
    } else {
        set_policy(SCHED_OTHER);
    }
#endif
    applied_ = true;
    current_ = m;
}

}  // namespace creditgate::policies
