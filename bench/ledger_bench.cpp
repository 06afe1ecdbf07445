// Micro-benchmark of the ledger: one reserve + commit against two budgets (credits and
// concurrency) and an account, single-threaded and with two threads sharing the ledger.
// Prints the median over batches of ns per reserve+settle.

#include "policies/ledger.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

using namespace creditgate::policies;
using clock_type = std::chrono::steady_clock;

namespace {

ledger make_ledger() {
    budget_def credits;
    credits.id = "credits";
    credits.kind = budget_kind::credits;
    credits.vendor = "v";
    credits.limit = money::units(1'000'000'000);
    credits.period.every = period_unit::month;
    budget_def conc;
    conc.id = "conc";
    conc.kind = budget_kind::concurrency;
    conc.vendor = "v";
    conc.max_concurrent = 1000;
    return ledger({credits, conc}, {"credits", ""}, {{account_ref::named("acct"), "v"}}, 1000);
}

admission_request request() {
    admission_request r;
    r.claims = {{0, money::units(5), {}}, {1, {}, {}}};
    r.account = 0;
    r.estimate = money::units(5);
    r.labels = {"cg-bench-request-id", "client", "team", "v", "acct"};
    return r;
}

// ns per reserve+settle, median of `batches` batches of `per_batch` operations.
double run(ledger& l, int batches, int per_batch) {
    std::vector<double> samples;
    for (int b = 0; b < batches; ++b) {
        const auto start = clock_type::now();
        for (int i = 0; i < per_batch; ++i) {
            auto a = l.admit(request(), nullptr);
            a.held.commit(money::units(4));
        }
        samples.push_back(std::chrono::duration<double, std::nano>(clock_type::now() - start).count() / per_batch);
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

}  // namespace

int main() {
    constexpr int batches = 51, per_batch = 20'000;
    {
        ledger l = make_ledger();
        run(l, 3, per_batch);  // warm-up
        std::printf("ledger reserve+settle, 1 thread : median %.0f ns\n", run(l, batches, per_batch));
    }
    {
        ledger l = make_ledger();
        double medians[2];
        std::thread t0([&] { medians[0] = run(l, batches, per_batch); });
        std::thread t1([&] { medians[1] = run(l, batches, per_batch); });
        t0.join();
        t1.join();
        std::printf("ledger reserve+settle, 2 threads: median %.0f / %.0f ns per thread (throughput %.2f M ops/s)\n",
                    medians[0], medians[1], 1e3 / medians[0] + 1e3 / medians[1]);
    }
    return 0;
}
