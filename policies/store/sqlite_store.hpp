#pragma once
// sqlite_store: the embedded ledger (SPEC §7) in one SQLite file under state_dir. Rows are
// appended to a queue and written by one writer thread in a transaction per batch, at most
// `flush_ms` apart (WAL, prepared statements); a process killed with -9 loses at most the
// batch it had not written yet, and SQLite's journal keeps the file consistent. The writer runs
// in the background (writer_priority); one that wakes late comes forward, so a batch spans about
// two intervals at most plus the wait for its first time slice. Queries run
// on their own read connection, so reports never wait for the writer.

#include "policies/store/ledger_store.hpp"
#include "policies/store/writer_priority.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

struct sqlite3;
struct sqlite3_stmt;

namespace creditgate::policies {

struct sqlite_options {
    std::string path;
    std::int64_t flush_ms = 100;
    int busy_timeout_ms = 1000;       // how long a write waits for a lock held by another process
    std::size_t max_queued = 1 << 20;  // rows kept for retry while writes fail; older ones are spilled
    bool read_only = false;           // reports: no writer, the file must exist
    // Told (on the writer thread) when a batch fails and when writing works again.
    std::function<void(const std::string& message)> on_error = nullptr;
    // Told what was recovered at open (rows a previous stop could not write).
    std::function<void(const std::string& message)> on_notice = nullptr;
    // At stop, how long writes that fail (a full disk) are retried before the rows left are
    // spilled beside the database (row_spill) for the next start to write.
    std::chrono::milliseconds stop_retry{5000};
};

inline constexpr int ledger_schema_version = 3;

class sqlite_store final : public ledger_store {
public:
    // Opens (creating and migrating unless read_only) the database; null with `error` otherwise.
    static std::unique_ptr<sqlite_store> open(const sqlite_options& options, std::string& error);
    ~sqlite_store() override;  // writes out what is queued, then closes

    void append(call_row row) override;
    bool healthy() const override { return healthy_.load(std::memory_order_relaxed); }
    bool flush() override;
    bool persistent() const override { return true; }
    std::optional<money> used(const budget_usage_query& query) override;
    std::optional<std::vector<usage_row>> usage(const usage_query& query) override;
    std::optional<std::int64_t> prune(civil_date before) override;  // sqlite_housekeeping.cpp
    // The same on a ledger file another process may be writing (`creditgate prune`).
    static std::optional<std::int64_t> prune_file(const std::string& path, civil_date before);
    // A consistent copy of the ledger at `from`, taken with SQLite's online backup API while a
    // proxy may be writing it, written to `to` (replaced only once the copy is whole). The
    // pages copied; nullopt with `error`.
    static std::optional<std::int64_t> backup_file(const std::string& from, const std::string& to, std::string& error);
    std::optional<bool> remember_alert(const std::string& key, unix_seconds at) override;  // sqlite_housekeeping.cpp

    // Rows moved out of memory to the spill file because writes kept failing and the retry queue was full.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    explicit sqlite_store(sqlite_options options) : options_(std::move(options)) {}
    bool migrate(std::string& error);
    bool prepare_writes();
    void keep_for_retry(std::vector<call_row>& batch);
    bool import_spilled(std::string& error);
    void spill(std::vector<call_row>& rows);
    void writer_loop();
    bool write_batch(std::vector<call_row>& batch);
    bool write_rollup(const std::vector<call_row>& batch, std::string& error);

    sqlite_options options_;
    sqlite3* write_db_ = nullptr;
    sqlite3_stmt* upsert_ = nullptr;       // one call
    sqlite3_stmt* upsert_many_ = nullptr;  // upsert_rows calls at once
    sqlite3_stmt* rollup_ = nullptr;
    sqlite3* read_db_ = nullptr;
    std::mutex read_mutex_;  // one query at a time on the read connection

    // Request threads hand rows over through a lock-free stack that the writer takes whole.
    // The writer runs as SCHED_IDLE and can sit preempted for milliseconds while both cores are
    // busy: with a mutex between them, a request thread that wanted it waited that long too
    // (the SQLite ledger's p99 was twice the memory ledger's). No lock of theirs is ever its.
    struct row_node {
        call_row row;
        row_node* next;
    };
    void take_incoming(std::vector<call_row>& into);  // oldest first
    void release_rows(std::vector<call_row>& batch);  // empties it, in slices
    std::atomic<row_node*> incoming_{nullptr};
    std::atomic<std::uint64_t> appended_{0};

    std::mutex mutex_;  // the writer's state, for flush() and the destructor; never taken per row
    std::condition_variable wake_, written_cv_;
    std::vector<call_row> queue_;  // rows a failed write kept, oldest first
    std::uint64_t written_ = 0, attempts_ = 0;
    bool flush_wanted_ = false, stopping_ = false, last_failed_ = false;
    std::chrono::steady_clock::time_point stop_deadline_;  // set with stopping_
    std::atomic<bool> healthy_{true};
    std::atomic<std::uint64_t> dropped_{0};
    burst_limiter pace_{std::chrono::microseconds(200)};  // the writer's only
    std::thread writer_;
};

}  // namespace creditgate::policies
