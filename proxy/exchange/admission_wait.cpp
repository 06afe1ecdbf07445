#include "proxy/exchange/admission_wait.hpp"

#include <boost/asio/post.hpp>

#include <memory>

namespace creditgate::proxy {
namespace {

using policies::admission_outcome;

// What a queued call and the thread that admits it share.
struct wait_state {
    std::optional<policies::admission> late;
    std::optional<steady_timer> timer;
    bool waiting = true;
};

admitted answer(admission_outcome out, policies::decision refused_as) {
    admitted a;
    if (out.result == admission_outcome::kind::admitted) {
        a.call = std::move(out.call);
        a.how = a.call.decision();
    } else {
        a.refused = from_books(*out.refusal);
        a.how = refused_as;
    }
    return a;
}

}  // namespace

task<admitted> admit_waiting(worker& w, policies::metering& books, const policies::call_facts& facts) {
    // The books call back on whatever thread made room; we hop to our own worker.
    auto state = std::make_shared<wait_state>();
    auto executor = w.io().get_executor();
    admission_outcome out = books.admit(facts, [state, executor](policies::admission decided) {
        asio::post(executor, [state, decided = std::move(decided)]() mutable {
            // A waiter that is gone (shutdown) lets its reservation release itself here.
            if (!state->waiting) return;
            state->late = std::move(decided);
            if (state->timer) state->timer->cancel();
        });
    });
    if (out.result != admission_outcome::kind::queued) co_return answer(std::move(out), policies::decision::rejected);

    struct leave_queue {  // a coroutine destroyed while queued (shutdown) leaves the queue
        policies::metering& books;
        wait_state& s;
        std::uint64_t ticket;
        ~leave_queue() {
            if (s.waiting && !s.late) books.leave_queue(ticket);
            s.waiting = false;
        }
    } guard{books, *state, out.ticket};
    // Emplaced before this coroutine first yields: the admission, posted to this same thread,
    // cannot run before the timer exists.
    state->timer.emplace(w.io());
    state->timer->expires_after(std::chrono::milliseconds(out.queue_timeout_ms));
    co_await state->timer->async_wait(use_nothrow);
    if (!state->late) {
        if (auto timeout = books.give_up(out.ticket, facts)) {
            admitted a;
            a.refused = from_books(*timeout);
            a.how = policies::decision::queue_timeout;
            co_return a;
        }
        // Admitted in the meantime: the decision is on its way to this thread.
        while (!state->late) {
            state->timer->expires_after(std::chrono::seconds(3600));
            co_await state->timer->async_wait(use_nothrow);
        }
    }
    co_return answer(books.resume(std::move(*state->late), facts), policies::decision::rejected);
}

}  // namespace creditgate::proxy
