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

// Version 1. Amounts are integer micro-units; times UTC milliseconds; finished_at NULL = pending.
constexpr const char* schema_v1 = R"sql(
CREATE TABLE calls (
  id          INTEGER PRIMARY KEY,
  admitted_at INTEGER NOT NULL,
  finished_at INTEGER,
  request_id  TEXT NOT NULL,
  client      TEXT NOT NULL,
  team        TEXT NOT NULL,
  vendor      TEXT NOT NULL,
  account     TEXT NOT NULL,
  method      TEXT NOT NULL,
  host        TEXT NOT NULL,
  path        TEXT NOT NULL,
  status      INTEGER NOT NULL DEFAULT 0,
  decision    TEXT NOT NULL,
  estimate    INTEGER NOT NULL,
  actual      INTEGER NOT NULL DEFAULT 0,
  cost_usd    INTEGER,
  latency_ms  INTEGER NOT NULL DEFAULT 0
);
-- Every query reads a time range (budget windows, report days); each further index would cost
-- every insert another b-tree update.
CREATE INDEX calls_by_time ON calls (admitted_at);
-- Reports read whole UTC days: the writer keeps per-day sums of finished calls, so that a month
-- of usage is a few thousand rows to add up, not millions of calls. day = days since 1970-01-01.
CREATE TABLE usage_daily (
  day         INTEGER NOT NULL,
  client      TEXT NOT NULL,
  team        TEXT NOT NULL,
  vendor      TEXT NOT NULL,
  account     TEXT NOT NULL,
  requests    INTEGER NOT NULL,
  succeeded   INTEGER NOT NULL,
  rejected    INTEGER NOT NULL,
  credits     INTEGER NOT NULL,
  cost_usd    INTEGER NOT NULL,
  latency_sum INTEGER NOT NULL,
  latency_n   INTEGER NOT NULL,
  PRIMARY KEY (day, client, team, vendor, account)
);
)sql";

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

// How a finished call counts in reports (SPEC §8).
bool is_rejection(const std::string& decision) { return decision == "rejected" || decision == "queue_timeout"; }
bool is_success(const call_row& r) {
    return (r.decision == "allowed" || r.decision == "queued_allowed" || r.decision == "shadow_would_reject") &&
           r.status >= 100 && r.status <= 399;
}

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
    bind_text(s, offset + 13, r.decision);
    sqlite3_bind_int64(s, offset + 14, r.estimate.micros());
    sqlite3_bind_int64(s, offset + 15, r.actual.micros());
    if (r.cost_usd) sqlite3_bind_int64(s, offset + 16, r.cost_usd->micros());
    else sqlite3_bind_null(s, offset + 16);
    sqlite3_bind_int64(s, offset + 17, r.latency_ms);
}

}  // namespace

std::unique_ptr<sqlite_store> sqlite_store::open(const sqlite_options& options, std::string& error) {
    // SQLite counts every allocation under a global mutex unless told not to (~5% of the
    // writer's time). Only takes effect before SQLite initializes; a later call is refused, harmless.
    static const bool configured = [] { return sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK; }();
    (void)configured;
    std::unique_ptr<sqlite_store> store(new sqlite_store(options));
    const int read_flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
    if (!options.read_only) {
        if (sqlite3_open_v2(options.path.c_str(), &store->write_db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                            nullptr) != SQLITE_OK) {
            error = options.path + ": cannot open the ledger database: " + last_error(store->write_db_);
            return nullptr;
        }
        sqlite3_busy_timeout(store->write_db_, options.busy_timeout_ms);
        // WAL: readers (reports, `creditgate report`) never block the writer. NORMAL sync: a
        // committed batch survives the process being killed; only an OS crash may lose the last ones.
        if (!exec(store->write_db_, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", &error) || !store->migrate(error)) {
            error = options.path + ": " + error;
            return nullptr;
        }
        if (sqlite3_prepare_v2(store->write_db_, upsert_sql(1).c_str(), -1, &store->upsert_, nullptr) != SQLITE_OK ||
            sqlite3_prepare_v2(store->write_db_, upsert_sql(upsert_rows).c_str(), -1, &store->upsert_many_, nullptr) != SQLITE_OK ||
            sqlite3_prepare_v2(store->write_db_, rollup_sql, -1, &store->rollup_, nullptr) != SQLITE_OK) {
            error = options.path + ": " + last_error(store->write_db_);
            return nullptr;
        }
        if (!store->import_spilled(error)) {
            error = options.path + ": " + error;
            return nullptr;
        }
    }
    if (sqlite3_open_v2(options.path.c_str(), &store->read_db_, read_flags, nullptr) != SQLITE_OK) {
        error = options.path + ": cannot open the ledger database: " + last_error(store->read_db_);
        return nullptr;
    }
    sqlite3_busy_timeout(store->read_db_, 5000);
    {
        statement version(store->read_db_, "SELECT MAX(version) FROM schema_version");
        if (!version || sqlite3_step(version.get()) != SQLITE_ROW) {
            error = options.path + ": not a creditgate ledger (" + last_error(store->read_db_) + ")";
            return nullptr;
        }
        if (sqlite3_column_int(version.get(), 0) > ledger_schema_version) {
            error = options.path + ": written by a newer creditgate (schema " + std::to_string(sqlite3_column_int(version.get(), 0)) + ")";
            return nullptr;
        }
        statement last(store->read_db_, "SELECT COALESCE(MAX(id), 0) FROM calls");
        if (!last || sqlite3_step(last.get()) != SQLITE_ROW) {
            error = options.path + ": " + last_error(store->read_db_);
            return nullptr;
        }
        store->next_id_.store(sqlite3_column_int64(last.get(), 0) + 1);
    }
    if (!options.read_only) store->writer_ = std::thread([s = store.get()] { s->writer_loop(); });
    return store;
}

bool sqlite_store::migrate(std::string& error) {
    if (!exec(write_db_, "BEGIN IMMEDIATE", &error)) return false;
    bool ok = exec(write_db_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)", &error);
    int current = 0;
    if (ok) {
        statement version(write_db_, "SELECT COALESCE(MAX(version), 0) FROM schema_version");
        ok = version && sqlite3_step(version.get()) == SQLITE_ROW;
        if (ok) current = sqlite3_column_int(version.get(), 0);
        else error = last_error(write_db_);
    }
    if (ok && current > ledger_schema_version) {
        error = "written by a newer creditgate (schema " + std::to_string(current) + ")";
        ok = false;
    }
    // Each step takes the schema from version N-1 to N; later versions append here.
    if (ok && current < 1) ok = exec(write_db_, schema_v1, &error) && exec(write_db_, "INSERT INTO schema_version VALUES (1)", &error);
    if (!ok) {
        exec(write_db_, "ROLLBACK");
        return false;
    }
    return exec(write_db_, "COMMIT", &error);
}

bool sqlite_store::import_spilled(std::string& error) {
    std::vector<call_row> rows;
    std::string problem;
    read_spilled(options_.path, rows, problem);
    if (!problem.empty() && options_.on_error) options_.on_error(problem);
    if (rows.empty()) {
        std::remove(spill_path(options_.path).c_str());
        return true;
    }
    const std::size_t count = rows.size();
    if (!write_batch(rows)) {
        // Kept for the next start; this one does not begin with a ledger it knows is short.
        error = "cannot write the " + std::to_string(count) + " rows in " + spill_path(options_.path) +
                " that the last stop could not write";
        return false;
    }
    std::remove(spill_path(options_.path).c_str());
    if (options_.on_notice)
        options_.on_notice("wrote " + std::to_string(count) + " ledger rows that the last stop could not write (from " +
                           spill_path(options_.path) + ")");
    return true;
}

void sqlite_store::spill(std::vector<call_row>& rows) {
    if (rows.empty()) return;
    std::string where;
    spill_rows(options_.path, rows, where);
    if (options_.on_error)
        options_.on_error(std::to_string(rows.size()) + " ledger rows could not be written at shutdown; kept in " + where +
                          (where == "stderr" ? "" : " for the next start to write"));
    rows.clear();
}

sqlite_store::~sqlite_store() {
    if (writer_.joinable()) {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            stop_deadline_ = std::chrono::steady_clock::now() + options_.stop_retry;
        }
        wake_.notify_all();
        writer_.join();
    }
    // Rows handed over while a failing last attempt ran: they join what the writer spilled.
    std::vector<call_row> unwritten;
    take_incoming(unwritten);
    spill(unwritten);
    sqlite3_finalize(upsert_);
    sqlite3_finalize(upsert_many_);
    sqlite3_finalize(rollup_);
    sqlite3_close_v2(write_db_);
    sqlite3_close_v2(read_db_);
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
        if (ok) {
            written_ += count;
        } else {
            // Kept for the next attempt, in order, ahead of what arrives meanwhile.
            queue_.swap(batch);
            if (queue_.size() > options_.max_queued) {
                // Memory is bounded too (on_failure "allow" keeps admitting): the oldest rows go
                // where a stop would put them, not nowhere.
                const std::size_t excess = queue_.size() - options_.max_queued;
                std::vector<call_row> oldest(std::make_move_iterator(queue_.begin()),
                                             std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(excess)));
                queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(excess));
                spill(oldest);
                dropped_.fetch_add(excess, std::memory_order_relaxed);
                written_ += excess;  // nobody waits for rows that left the queue
            }
        }
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
        d.succeeded += is_success(r);
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
