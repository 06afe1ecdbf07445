// The SQLite ledger's writer: rows handed over by request threads, written in batches by one
// thread, kept in memory while writes fail. Opening and the schema are sqlite_open.cpp's.
#include "policies/store/sqlite_store.hpp"

#include "policies/store/row_spill.hpp"
#include "policies/store/sqlite_statement.hpp"
#include "policies/store/writer_priority.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <iterator>
#include <map>
#include <tuple>
#include <unordered_set>

#ifdef __linux__
#include <pthread.h>
#endif

namespace creditgate::policies {
namespace {

using namespace sqlite_statement;

constexpr const char* rollup_sql = R"sql(
INSERT INTO usage_daily VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
ON CONFLICT (day, client, team, vendor, account) DO UPDATE SET
  requests = requests + excluded.requests, succeeded = succeeded + excluded.succeeded,
  rejected = rejected + excluded.rejected,
  credits = CASE WHEN credits > 9223372036854775807 - excluded.credits THEN 9223372036854775807
                 ELSE credits + excluded.credits END,
  cost_usd = CASE WHEN cost_usd > 9223372036854775807 - excluded.cost_usd THEN 9223372036854775807
                  ELSE cost_usd + excluded.cost_usd END,
  latency_sum = latency_sum + excluded.latency_sum, latency_n = latency_n + excluded.latency_n
)sql";
// Credits and dollars saturate instead of overflowing (SQLite would turn the sum into a float):
// both are sums of non-negative amounts within ±10^12 units, so only absurd days reach the end.

// Rows go in `upsert_rows` at a time: one statement execution opens its cursors on the table
// and the index once, and that is most of what a single-row INSERT costs besides the row.
constexpr int upsert_rows = 32;
constexpr int call_columns = 17;

// INSERT of `rows` calls; a finished row whose pending row an earlier batch wrote updates it.
std::string upsert_sql(int rows) {
    std::string sql = "INSERT INTO calls (id, admitted_at, finished_at, request_id, client, team, vendor, account, method, host, "
                      "path, status, decision, estimate, actual, cost_usd, latency_ms) VALUES ";
    for (int r = 0; r < rows; ++r) {
        sql += r ? ",(" : "(";
        for (int c = 0; c < call_columns; ++c) sql += c ? ",?" : "?";
        sql += ")";
    }
    sql += " ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status, "
           "decision = excluded.decision, actual = excluded.actual, cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms";
    return sql;
}

// Binds one call's columns, in upsert_sql's order, after the first `offset` parameters.
void bind_call(sqlite3_stmt* s, int offset, const call_row& r) {
    sqlite3_bind_int64(s, offset + 1, r.id);
    sqlite3_bind_int64(s, offset + 2, r.admitted_at);
    if (r.finished_at) sqlite3_bind_int64(s, offset + 3, *r.finished_at);
    else sqlite3_bind_null(s, offset + 3);
    bind_text(s, offset + 4, r.request_id);
    bind_text(s, offset + 5, r.client);
    bind_text(s, offset + 6, r.team);
    bind_text(s, offset + 7, r.vendor);
    bind_text(s, offset + 8, r.account);
    bind_text(s, offset + 9, r.method);
    bind_text(s, offset + 10, r.host);
    bind_text(s, offset + 11, r.path);
    sqlite3_bind_int(s, offset + 12, static_cast<int>(r.status));
    bind_text(s, offset + 13, to_string(r.decision));
    sqlite3_bind_int64(s, offset + 14, r.estimate.micros());
    sqlite3_bind_int64(s, offset + 15, r.actual.micros());
    if (r.cost_usd) sqlite3_bind_int64(s, offset + 16, r.cost_usd->micros());
    else sqlite3_bind_null(s, offset + 16);
    sqlite3_bind_int64(s, offset + 17, r.latency_ms);
}

}  // namespace

bool sqlite_store::prepare_writes() {
    return sqlite3_prepare_v2(write_db_, upsert_sql(1).c_str(), -1, &upsert_, nullptr) == SQLITE_OK &&
           sqlite3_prepare_v2(write_db_, upsert_sql(upsert_rows).c_str(), -1, &upsert_many_, nullptr) == SQLITE_OK &&
           sqlite3_prepare_v2(write_db_, rollup_sql, -1, &rollup_, nullptr) == SQLITE_OK;
}

void sqlite_store::append(call_row row) {
    auto* node = new row_node{std::move(row), incoming_.load(std::memory_order_relaxed)};
    while (!incoming_.compare_exchange_weak(node->next, node, std::memory_order_release, std::memory_order_relaxed)) {
    }
    // Counted once it is in: a flush that waits for this count finds the row in the stack.
    appended_.fetch_add(1, std::memory_order_release);
    // The writer wakes on its own every flush_ms; rows are never worth a wake-up of their own.
}

void sqlite_store::take_incoming(std::vector<call_row>& into) {
    row_node* newest = incoming_.exchange(nullptr, std::memory_order_acquire);
    row_node* oldest = nullptr;
    while (newest) {  // the stack is newest first: reverse it
        row_node* next = newest->next;
        newest->next = oldest;
        oldest = newest;
        newest = next;
    }
    for (std::size_t n = 1; oldest; ++n) {
        into.push_back(std::move(oldest->row));
        row_node* next = oldest->next;
        delete oldest;
        oldest = next;
        if (n % 64 == 0) pace_.pause_point();
    }
}

void sqlite_store::release_rows(std::vector<call_row>& batch) {
    constexpr std::size_t chunk = 256;
    while (batch.size() > chunk) {
        batch.resize(batch.size() - chunk);
        pace_.pause_point();
    }
    batch.clear();
}

bool sqlite_store::flush() {
    if (!writer_.joinable()) return true;
    std::unique_lock lock(mutex_);
    const std::uint64_t target = appended_.load(std::memory_order_acquire);
    const std::uint64_t attempts = attempts_;
    flush_wanted_ = true;
    wake_.notify_all();
    written_cv_.wait(lock, [&] { return written_ >= target || (last_failed_ && attempts_ > attempts); });
    return written_ >= target;
}

void sqlite_store::writer_loop() {
#ifdef __linux__
    pthread_setname_np(pthread_self(), "cg-ledger");  // tells it apart in top -H, perf and /proc
#endif
    using clock = writer_pacing::clock;
    const auto interval = std::chrono::milliseconds(options_.flush_ms);
    writer_priority priority;
    // Late by more than one interval: the batch being written then covers at most about two.
    writer_pacing pacing(std::max(interval, std::chrono::milliseconds(50)), std::chrono::seconds(10));
    auto applied = pacing.current();
    priority.apply(applied);
    std::vector<call_row> batch;
    std::unique_lock lock(mutex_);
    bool was_failing = false;
    for (;;) {
        const auto due = clock::now() + interval;
        wake_.wait_for(lock, interval, [&] { return stopping_ || flush_wanted_; });
        const auto now = clock::now();
        pace_.restart();
        const bool someone_waits = flush_wanted_ || stopping_;
        const auto mode = pacing.on_wake(now, someone_waits ? clock::duration::zero() : now - due, someone_waits);
        if (mode != applied) {
            // The scheduling change is a syscall: not while request threads may wait on this lock.
            lock.unlock();
            priority.apply(mode);
            lock.lock();
            applied = mode;
        }
        flush_wanted_ = false;
        batch.swap(queue_);  // what a failed attempt kept goes first
        lock.unlock();
        take_incoming(batch);
        if (batch.empty()) {
            lock.lock();
            written_cv_.notify_all();
            if (stopping_) return;
            continue;
        }
        const std::size_t count = batch.size();
        const bool ok = write_batch(batch);
        // Outside the lock: destroying thousands of rows takes a while, and flush() waits on it.
        if (ok) release_rows(batch);
        lock.lock();
        ++attempts_;
        last_failed_ = !ok;
        healthy_.store(ok, std::memory_order_relaxed);
        if (ok) written_ += count;
        else keep_for_retry(batch);
        if (ok && was_failing && options_.on_error) options_.on_error("ledger writes work again");
        was_failing = !ok;
        written_cv_.notify_all();
        if (stopping_ && !ok) {
            // A stop while writes fail (a full disk): retry a while, the operator may free space;
            // then the rows go beside the database rather than nowhere.
            if (std::chrono::steady_clock::now() < stop_deadline_) {
                lock.unlock();
                std::this_thread::sleep_for(interval);
                lock.lock();
                continue;
            }
            spill(queue_);
            written_ = appended_.load(std::memory_order_acquire);
            written_cv_.notify_all();
            return;
        }
    }
}

// A batch that failed is kept for the next attempt, in order, ahead of what arrives meanwhile.
// Memory is bounded too (on_failure "allow" keeps admitting): past max_queued the oldest rows go
// where a stop would put them (spill), not nowhere. Called with mutex_ held.
void sqlite_store::keep_for_retry(std::vector<call_row>& batch) {
    queue_.swap(batch);
    if (queue_.size() <= options_.max_queued) return;
    const std::size_t excess = queue_.size() - options_.max_queued;
    std::vector<call_row> oldest(std::make_move_iterator(queue_.begin()),
                                 std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(excess)));
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(excess));
    spill(oldest);
    dropped_.fetch_add(excess, std::memory_order_relaxed);
    written_ += excess;  // nobody waits for rows that left the queue
}

bool sqlite_store::write_batch(std::vector<call_row>& batch) {
    std::string error;
    if (!exec(write_db_, "BEGIN IMMEDIATE", &error)) {
        if (options_.on_error) options_.on_error("ledger write failed: " + error);
        return false;
    }
    // A call admitted and finished within one batch needs only its finished row.
    std::unordered_set<std::int64_t> finished;
    for (const auto& r : batch)
        if (!r.pending()) finished.insert(r.id);
    std::vector<const call_row*> rows;
    rows.reserve(batch.size());
    for (const auto& r : batch)
        if (!r.pending() || !finished.count(r.id)) rows.push_back(&r);
    for (std::size_t at = 0; at < rows.size();) {
        const bool many = rows.size() - at >= upsert_rows;
        sqlite3_stmt* s = many ? upsert_many_ : upsert_;
        const int count = many ? upsert_rows : 1;
        for (int k = 0; k < count; ++k) bind_call(s, k * call_columns, *rows[at + k]);
        at += count;
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        pace_.pause_point();
        if (rc != SQLITE_DONE) {
            error = last_error(write_db_);
            sqlite3_clear_bindings(s);
            exec(write_db_, "ROLLBACK");
            if (options_.on_error) options_.on_error("ledger write failed: " + error);
            return false;
        }
    }
    // Bound texts point into the batch's rows, which the caller frees next.
    sqlite3_clear_bindings(upsert_);
    sqlite3_clear_bindings(upsert_many_);
    if (!write_rollup(batch, error)) {
        exec(write_db_, "ROLLBACK");
        if (options_.on_error) options_.on_error("ledger write failed: " + error);
        return false;
    }
    if (!exec(write_db_, "COMMIT", &error)) {
        exec(write_db_, "ROLLBACK");
        if (options_.on_error) options_.on_error("ledger commit failed: " + error);
        return false;
    }
    return true;
}

bool sqlite_store::write_rollup(const std::vector<call_row>& batch, std::string& error) {
    // Each finished row is appended exactly once, so adding it to its day's sums is exact.
    struct sums {
        std::int64_t requests = 0, succeeded = 0, rejected = 0, latency_sum = 0, latency_n = 0;
        money credits, cost_usd;  // saturating, like the table's columns
    };
    std::map<std::tuple<std::int64_t, std::string_view, std::string_view, std::string_view, std::string_view>, sums> days;
    for (const auto& r : batch) {
        if (r.pending()) continue;
        const std::int64_t day = r.admitted_at >= 0 ? r.admitted_at / 86'400'000 : (r.admitted_at - 86'399'999) / 86'400'000;
        sums& d = days[{day, r.client, r.team, r.vendor, r.account}];
        ++d.requests;
        d.succeeded += succeeded(r);
        const bool rejected = is_rejection(r.decision);
        d.rejected += rejected;
        d.credits += r.actual;
        d.cost_usd += r.cost_usd.value_or(money{});
        if (!rejected) {
            d.latency_sum += r.latency_ms;
            ++d.latency_n;
        }
    }
    sqlite3_stmt* s = rollup_;
    for (const auto& [key, d] : days) {
        const auto& [day, client, team, vendor, account] = key;
        sqlite3_bind_int64(s, 1, day);
        const std::string_view texts[] = {client, team, vendor, account};
        for (int i = 0; i < 4; ++i)
            sqlite3_bind_text(s, 2 + i, texts[i].data(), static_cast<int>(texts[i].size()), SQLITE_STATIC);
        const std::int64_t numbers[] = {d.requests, d.succeeded, d.rejected, d.credits.micros(), d.cost_usd.micros(), d.latency_sum, d.latency_n};
        for (int i = 0; i < 7; ++i) sqlite3_bind_int64(s, 6 + i, numbers[i]);
        const int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) {
            error = last_error(write_db_);
            sqlite3_clear_bindings(s);
            return false;
        }
    }
    sqlite3_clear_bindings(s);
    return true;
}

}  // namespace creditgate::policies
