#pragma once
// admission_wait: admission as a coroutine. A call its budgets can take is admitted at once; one a
// queue budget is short for waits (the worker thread is free meanwhile) until the books make room,
// or its queue timeout refuses it. The books write the rows of refusals; the call writes its own.

#include "policies/metering.hpp"
#include "proxy/exchange/refusal.hpp"
#include "proxy/worker.hpp"

#include <optional>

namespace creditgate::proxy {

struct admitted {
    policies::metered_call call;     // admitted
    std::optional<refusal> refused;  // otherwise, and the decision it was recorded with
    policies::decision how = policies::decision::rejected;
};

task<admitted> admit_waiting(worker& w, policies::metering& books, const policies::call_facts& facts);

}  // namespace creditgate::proxy
