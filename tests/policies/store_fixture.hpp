#pragma once
// The SQLite store's tests' shared parts: a temporary folder, a store on it, and finished rows.
#include "policies/store/sqlite_store.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <random>
#include <string>

namespace store_fixture {

using namespace creditgate::policies;
namespace fs = std::filesystem;

inline money m(const char* t) { return *money::parse(t); }

inline constexpr unix_millis day_ms = 86'400'000;
inline const unix_millis nov22 = days_from_civil({2026, 11, 22}) * day_ms;

// A fresh folder per test, removed afterwards.
struct temp_dir {
    fs::path path;
    temp_dir() {
        std::random_device rd;
        path = fs::temp_directory_path() / ("creditgate-store-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(path);
    }
    ~temp_dir() { fs::remove_all(path); }
    std::string db() const { return (path / "creditgate.db").string(); }
};

inline std::unique_ptr<sqlite_store> open_store(const std::string& path, std::int64_t flush_ms = 10, int busy_ms = 1000) {
    sqlite_options o;
    o.path = path;
    o.flush_ms = flush_ms;
    o.busy_timeout_ms = busy_ms;
    std::string error;
    auto s = sqlite_store::open(o, error);
    INFO(error);
    REQUIRE(s);
    return s;
}

inline call_row finished(ledger_store& s, unix_millis at, const char* client, const char* vendor, const char* actual,
                  decision how = decision::allowed, unsigned status = 200) {
    call_row r;
    r.id = s.next_id();
    r.admitted_at = at;
    r.finished_at = at + 25;
    r.request_id = "req-" + std::to_string(r.id);
    r.client = client;
    r.team = std::string(client) == "eu-1" ? "growth" : "research";
    r.vendor = vendor;
    r.account = std::string(vendor) + "-main";
    r.method = "GET";
    r.host = std::string("api.") + vendor + ".com";
    r.path = "/person/search";
    r.status = status;
    r.decision = how;
    r.estimate = m("5");
    r.actual = m(actual);
    r.cost_usd = settled_usd(r.actual, m("0.01"));
    r.latency_ms = 40;
    return r;
}

inline std::int64_t count_rows(const std::string& path, const char* where = "1") {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, (std::string("SELECT COUNT(*) FROM calls WHERE ") + where).c_str(), -1, &s, nullptr);
    std::int64_t n = -1;
    if (s && sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return n;
}


}  // namespace store_fixture
