#pragma once
// A credits budget for tests of the books: vendor "v", the limit as decimal text.
#include "policies/budget.hpp"

#include <string>

inline creditgate::policies::budget_def credits_budget(const std::string& id, const char* limit,
                                                       creditgate::policies::exceed_action on =
                                                           creditgate::policies::exceed_action::reject) {
    using namespace creditgate::policies;
    budget_def b;
    b.id = id;
    b.kind = budget_kind::credits;
    b.vendor = "v";
    b.limit = *money::parse(limit);
    b.on_exceed = on;
    b.queue_timeout_ms = 1000;
    return b;
}
