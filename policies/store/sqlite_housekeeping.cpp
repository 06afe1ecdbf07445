// The SQLite ledger's housekeeping on connections of their own, so that neither the writer nor
// reports wait for it longer than one small transaction: the retention pass and backups (SPEC
// §7), and the record of alerts sent (SPEC §12).
#include "policies/store/sqlite_store.hpp"

#include "policies/store/sqlite_statement.hpp"

#include <sqlite3.h>

#include <cstdio>
#include <filesystem>

namespace creditgate::policies {
namespace {

using namespace sqlite_statement;

// Rows per transaction: the writer waits at most one of these (a few ms) for its next batch.
constexpr int prune_batch = 5000;

}  // namespace

std::optional<std::int64_t> sqlite_store::prune(civil_date before) {
    if (options_.read_only) return std::nullopt;
    return prune_file(options_.path, before);
}

std::optional<std::int64_t> sqlite_store::prune_file(const std::string& path, civil_date before) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return std::nullopt;
    }
    sqlite3_busy_timeout(db, 10'000);
    const std::int64_t before_ms = days_from_civil(before) * 86'400'000;
    bool ok = false;
    std::int64_t deleted = 0;
    {
        // The horizon first: from then on used() takes those days from the roll-up and skips their
        // finished raw rows, so a pass cut short counts nothing twice and leaves nothing out.
        statement horizon(db, "UPDATE retention SET pruned_before = MAX(pruned_before, ?1)");
        ok = horizon && (sqlite3_bind_int64(horizon.get(), 1, before_ms), sqlite3_step(horizon.get()) == SQLITE_DONE);
        statement del(db, "DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE admitted_at < ?1 AND finished_at IS NOT NULL LIMIT ?2)");
        ok = ok && del;
        while (ok) {
            sqlite3_reset(del.get());
            sqlite3_bind_int64(del.get(), 1, before_ms);
            sqlite3_bind_int(del.get(), 2, prune_batch);
            ok = sqlite3_step(del.get()) == SQLITE_DONE;
            const int n = sqlite3_changes(db);
            deleted += n;
            if (n < prune_batch) break;
        }
    }  // statements finalized before the close
    sqlite3_close(db);
    if (!ok) return std::nullopt;
    return deleted;
}

std::optional<std::int64_t> sqlite_store::backup_file(const std::string& from, const std::string& to, std::string& error) {
    const std::string partial = to + ".partial";
    std::remove(partial.c_str());
    sqlite3 *source = nullptr, *target = nullptr;
    auto fail = [&](std::string why) -> std::optional<std::int64_t> {
        error = std::move(why);
        sqlite3_close(source);
        sqlite3_close(target);
        std::remove(partial.c_str());
        return std::nullopt;
    };
    if (sqlite3_open_v2(from.c_str(), &source, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) return fail(from + ": " + last_error(source));
    if (sqlite3_open_v2(partial.c_str(), &target, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) != SQLITE_OK)
        return fail(to + ": cannot create it: " + last_error(target));
    sqlite3_backup* copy = sqlite3_backup_init(target, "main", source, "main");
    if (!copy) return fail(to + ": " + last_error(target));
    // Some pages at a time: the writer gets the database between steps. A write between steps
    // makes SQLite restart the copy, so the result is one consistent moment of the ledger.
    int rc;
    while ((rc = sqlite3_backup_step(copy, 1024)) == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        if (rc != SQLITE_OK) sqlite3_sleep(5);
    const std::int64_t pages = sqlite3_backup_pagecount(copy);
    sqlite3_backup_finish(copy);
    if (rc != SQLITE_DONE) return fail(to + ": the copy failed: " + std::string(sqlite3_errstr(rc)));
    // The copy stands alone: no WAL beside it.
    if (!exec(target, "PRAGMA journal_mode=DELETE", &error)) return fail(to + ": " + error);
    sqlite3_close(source);
    sqlite3_close(target);
    source = target = nullptr;
    std::error_code ec;
    std::filesystem::rename(partial, to, ec);
    if (ec) return fail(to + ": " + ec.message());
    return pages;
}

std::optional<bool> sqlite_store::remember_alert(const std::string& key, unix_seconds at) {
    if (options_.read_only) return std::nullopt;
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(options_.path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return std::nullopt;
    }
    sqlite3_busy_timeout(db, 5'000);
    std::optional<bool> fresh;
    {
        statement insert(db, "INSERT OR IGNORE INTO alerts_sent (key, sent_at) VALUES (?1, ?2)");
        if (insert) {
            bind_text(insert.get(), 1, key);
            sqlite3_bind_int64(insert.get(), 2, at);
            if (sqlite3_step(insert.get()) == SQLITE_DONE) fresh = sqlite3_changes(db) == 1;
        }
    }
    sqlite3_close(db);
    return fresh;
}

}  // namespace creditgate::policies
