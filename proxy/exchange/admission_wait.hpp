#pragma once
// admission_wait: admission, with a queue. start() answers at once for a call its budgets can take
// or must refuse; a call a queue budget is short for waits in wait() — a coroutine only then, the
// worker thread free meanwhile — until the books make room, or its queue timeout refuses it. The
// books write the rows of refusals; the call writes its own.

#include "policies/metering.hpp"
#include "proxy/exchange/refusal.hpp"
#include "proxy/worker.hpp"

#include <memory>
#include <optional>

namespace creditgate::proxy {

struct admitted {
    policies::metered_call call;     // admitted
    std::optional<refusal> refused;  // refused, and the decision it was recorded with
    policies::decision how = policies::decision::rejected;
    bool queued = false;             // neither yet: wait()
};

class admission_wait {
public:
    // `facts` must live as long as this object.
    admission_wait(worker& w, policies::metering& books, const policies::call_facts& facts);
    ~admission_wait();  // a call still queued (its exchange destroyed at shutdown) leaves the queue
    admission_wait(const admission_wait&) = delete;
    admission_wait& operator=(const admission_wait&) = delete;

    admitted start();
    task<admitted> wait();

    struct shared;  // what the queued call and the thread that admits it share

private:
    worker& worker_;
    policies::metering& books_;
    const policies::call_facts& facts_;
    std::shared_ptr<shared> state_;
    std::uint64_t ticket_ = 0;
    std::int64_t timeout_ms_ = 0;
};

}  // namespace creditgate::proxy
