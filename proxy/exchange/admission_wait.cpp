#include "proxy/exchange/admission_wait.hpp"

#include <boost/asio/post.hpp>

namespace creditgate::proxy {

using policies::admission_outcome;

struct admission_wait::shared {
    std::optional<policies::admission> late;
    std::optional<steady_timer> timer;
    bool waiting = true;
};

namespace {

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

admission_wait::admission_wait(worker& w, policies::metering& books, const policies::call_facts& facts)
    : worker_(w), books_(books), facts_(facts), state_(std::make_shared<shared>()) {}

admission_wait::~admission_wait() {
    if (ticket_ != 0 && state_->waiting && !state_->late) books_.leave_queue(ticket_);
    state_->waiting = false;  // an admission posted meanwhile lets its reservation release itself
}

admitted admission_wait::start() {
    // The books call back on whatever thread made room; we hop to our own worker.
    auto executor = worker_.io().get_executor();
    admission_outcome out = books_.admit(facts_, [state = state_, executor](policies::admission decided) {
        asio::post(executor, [state, decided = std::move(decided)]() mutable {
            if (!state->waiting) return;
            state->late = std::move(decided);
            if (state->timer) state->timer->cancel();
        });
    });
    if (out.result != admission_outcome::kind::queued) return answer(std::move(out), policies::decision::rejected);
    ticket_ = out.ticket;
    timeout_ms_ = out.queue_timeout_ms;
    admitted a;
    a.queued = true;
    return a;
}

task<admitted> admission_wait::wait() {
    // Emplaced before this coroutine first yields: the admission, posted to this same thread,
    // cannot run before the timer exists.
    state_->timer.emplace(worker_.io());
    state_->timer->expires_after(std::chrono::milliseconds(timeout_ms_));
    co_await state_->timer->async_wait(use_nothrow);
    if (!state_->late) {
        if (auto timeout = books_.give_up(ticket_, facts_)) {
            state_->waiting = false;
            admitted a;
            a.how = timeout->kind == policies::refusal_code::queue_timeout ? policies::decision::queue_timeout
                                                                           : policies::decision::rejected;
            a.refused = from_books(*timeout);
            co_return a;
        }
        // Admitted in the meantime: the decision is on its way to this thread.
        while (!state_->late) {
            state_->timer->expires_after(std::chrono::seconds(3600));
            co_await state_->timer->async_wait(use_nothrow);
        }
    }
    state_->waiting = false;
    co_return answer(books_.resume(std::move(*state_->late), facts_), policies::decision::rejected);
}

}  // namespace creditgate::proxy
