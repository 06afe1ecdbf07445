// Opening the SQLite ledger: the schema and its migrations, rows a previous stop spilled, and the
// stop itself (what is left unwritten is spilled, never dropped). The writer is sqlite_store.cpp.
#include "policies/store/sqlite_store.hpp"

#include "policies/store/row_spill.hpp"
#include "policies/store/sqlite_statement.hpp"

#include <sqlite3.h>

#include <cstdio>

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

// Version 2: the retention pass (sqlite_housekeeping.cpp). Finished rows admitted before
// pruned_before (UTC ms, a midnight) may be gone; their days are in usage_daily.
constexpr const char* schema_v2 = R"sql(
CREATE TABLE retention (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  pruned_before INTEGER NOT NULL
);
INSERT INTO retention VALUES (1, 0);
)sql";

// Version 3: alerts sent (SPEC §12), one row per event key, so that a restart sends none twice.
constexpr const char* schema_v3 = R"sql(
CREATE TABLE alerts_sent (
  key     TEXT PRIMARY KEY,
  sent_at INTEGER NOT NULL
);
)sql";

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
        if (!store->prepare_writes()) {
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
    if (ok && current < 2) ok = exec(write_db_, schema_v2, &error) && exec(write_db_, "INSERT INTO schema_version VALUES (2)", &error);
    if (ok && current < 3) ok = exec(write_db_, schema_v3, &error) && exec(write_db_, "INSERT INTO schema_version VALUES (3)", &error);
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

}  // namespace creditgate::policies
