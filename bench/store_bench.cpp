// Micro-benchmark of the SQLite ledger writer, timed until flush() has everything on disk:
// - "long calls": every call's pending row and its finished row land in different batches, so
//   both are written (an INSERT, then an upsert of the same id) — the writer's worst case;
// - "short calls": as the proxy appends them, from one and two threads; a call admitted and
//   finished within one batch writes only its finished row.
// Prints database rows written per second, the cost of append() on the calling thread and the
// writer's CPU per row (on a saturated proxy host that CPU comes out of the request path).

#include "policies/store/sqlite_store.hpp"

#include <chrono>
#include <ctime>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <unistd.h>
#include <thread>
#include <vector>

using namespace creditgate::policies;
using clock_type = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

call_row make_row(ledger_store& store, std::int64_t i) {
    call_row r;
    r.id = store.next_id();
    r.admitted_at = 1'795'000'000'000 + i;
    r.request_id = "4f2a9c1b0000" + std::to_string(i);
    r.client = "client-" + std::to_string(i % 50);
    r.team = "team-" + std::to_string(i % 7);
    r.vendor = "scraperapi";
    r.account = "scraperapi-main";
    r.method = "GET";
    r.host = "api.scraperapi.com";
    r.path = "/";
    r.estimate = money::units(5);
    return r;
}

struct result {
    double rows_per_s;  // rows written to the database
    double append_ns;
    double writer_us_per_row = 0;  // CPU the store's own threads spent per row written
};

double process_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

double thread_cpu_s() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + double(t.tv_nsec) / 1e9;
}

std::unique_ptr<sqlite_store> fresh_store(const std::string& path) {
    fs::remove(path);
    fs::remove(path + "-wal");
    fs::remove(path + "-shm");
    sqlite_options o;
    o.path = path;
    o.flush_ms = 100;
    std::string error;
    auto store = sqlite_store::open(o, error);
    if (!store) {
        std::fprintf(stderr, "%s\n", error.c_str());
        std::exit(1);
    }
    return store;
}

void finish(call_row& row) {
    row.finished_at = row.admitted_at + 40;
    row.status = 200;
    row.decision = decision::allowed;
    row.actual = money::units(5);
    row.latency_ms = 40;
}

result run_long(const std::string& path, std::int64_t calls) {
    auto store = fresh_store(path);
    std::vector<call_row> rows;
    rows.reserve(static_cast<std::size_t>(calls));
    for (std::int64_t i = 0; i < calls; ++i) rows.push_back(make_row(*store, i));
    const auto start = clock_type::now();
    for (const auto& r : rows) store->append(r);
    store->flush();
    for (auto& r : rows) {
        finish(r);
        store->append(std::move(r));
    }
    store->flush();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    return {double(calls * 2) / seconds, 0};
}

// `calls` calls per thread, two rows each.
result run_short(const std::string& path, int threads, std::int64_t calls) {
    auto store = fresh_store(path);
    std::vector<double> append_ns(static_cast<std::size_t>(threads)), producer_cpu(static_cast<std::size_t>(threads));
    const double cpu_start = process_cpu_s();
    const auto start = clock_type::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            const auto begin = clock_type::now();
            for (std::int64_t i = 0; i < calls; ++i) {
                call_row pending = make_row(*store, i);
                call_row done = pending;
                store->append(std::move(pending));
                finish(done);
                store->append(std::move(done));
            }
            append_ns[static_cast<std::size_t>(t)] =
                std::chrono::duration<double, std::nano>(clock_type::now() - begin).count() / double(calls * 2);
            producer_cpu[static_cast<std::size_t>(t)] = thread_cpu_s();
        });
    for (auto& w : workers) w.join();
    store->flush();
    const double seconds = std::chrono::duration<double>(clock_type::now() - start).count();
    // What the producers did not use is the writer's (and the main thread's wait, ~nothing).
    double writer_cpu = process_cpu_s() - cpu_start;
    for (double c : producer_cpu) writer_cpu -= c;
    double ns = 0;
    for (double a : append_ns) ns += a / threads;
    const double rows = double(calls * threads);  // one row per call reaches the database
    return {rows / seconds, ns, writer_cpu * 1e6 / rows};
}

// A month of calls from many clients, then the queries admin and `creditgate report` run on it.
void report_queries(const std::string& path, std::int64_t rows) {
    auto store = fresh_store(path);
    const unix_millis nov1 = days_from_civil({2026, 11, 1}) * 86'400'000LL;
    const char* vendors[] = {"scraperapi", "multicart", "crustdata", "helius", "neuji"};
    for (std::int64_t i = 0; i < rows; ++i) {
        call_row r = make_row(*store, i);
        r.admitted_at = nov1 + i * (30LL * 86'400'000 / rows);
        r.client = "client-" + std::to_string(i % 500);
        r.team = "team-" + std::to_string(i % 20);
        r.vendor = vendors[i % 5];
        r.account = r.vendor + "-main";
        finish(r);
        store->append(std::move(r));
    }
    store->flush();
    auto time_ms = [](auto&& f) {
        const auto start = clock_type::now();
        f();
        return std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
    };
    usage_query month;
    month.from = {2026, 11, 1};
    month.to = {2026, 11, 30};
    std::size_t groups = 0;
    month.group_by = {usage_group::client, usage_group::vendor};
    const double by_client = time_ms([&] { groups = store->usage(month)->size(); });
    std::printf("  report over a month (%lld calls, 500 clients): group_by client,vendor %.0f ms (%zu rows)", static_cast<long long>(rows),
                by_client, groups);
    month.group_by = {usage_group::day};
    std::printf(", by day %.0f ms", time_ms([&] { store->usage(month); }));
    usage_query one_day = month;
    one_day.from = one_day.to = {2026, 11, 22};
    one_day.group_by = {usage_group::client};
    std::printf(", one day by client %.1f ms", time_ms([&] { store->usage(one_day); }));
    budget_usage_query budget{"scraperapi", {}, {days_from_civil({2026, 11, 1}) * 86'400LL, days_from_civil({2026, 12, 1}) * 86'400LL}, false};
    budget.scope.client = "client-7";
    std::printf(", a client's monthly used %.0f ms\n", time_ms([&] { store->used(budget); }));
}

}  // namespace

int main(int argc, char** argv) {
    const fs::path dir = fs::temp_directory_path() / ("creditgate-store-bench-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string path = (dir / "creditgate.db").string();
    const std::int64_t calls = argc > 1 ? std::atoll(argv[1]) : 200'000;
    std::printf("SQLite ledger writer, %lld calls per thread, flush_ms 100, WAL, synchronous=NORMAL\n",
                static_cast<long long>(calls));
    for (int round = 0; round < 3; ++round)
        std::printf("  long calls (pending and finished rows both written): %7.0f rows/s\n", run_long(path, calls).rows_per_s);
    for (int threads : {1, 2}) {
        for (int round = 0; round < 3; ++round) {
            const result r = run_short(path, threads, calls);
            std::printf("  short calls, %d thread%s: %7.0f rows/s written; append() %.0f ns; writer %.2f us CPU per row\n", threads,
                        threads == 1 ? " " : "s", r.rows_per_s, r.append_ns, r.writer_us_per_row);
        }
    }
    report_queries(path, 1'000'000);
    fs::remove_all(dir);
    return 0;
}
