#pragma once
// pg_connection: one libpq connection behind a small RAII layer, for postgres_store's own
// thread (every call blocks that thread, never an event loop). libpq's C API rather than
// libpqxx: Debian ships libpq-dev with the server we test against, the store needs a dozen
// calls, and the C API keeps parameters as text we control exactly (numeric amounts beyond 64
// bits). The conninfo is never logged: describe() names host, port and database only.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;
typedef struct pg_conn PGconn;
typedef struct pg_result PGresult;

namespace creditgate::policies {

// A query's answer: rows of text, NULL as nullopt.
class pg_rows {
public:
    explicit pg_rows(PGresult* result = nullptr);
    pg_rows(pg_rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
    pg_rows& operator=(pg_rows&& other) noexcept;
    ~pg_rows();

    int size() const;
    bool null(int row, int column) const;
    std::string_view text(int row, int column) const;  // "" for NULL
    std::int64_t int64(int row, int column) const;     // 0 for NULL or junk

private:
    PGresult* result_;
};

class pg_connection {
public:
    // Connects within `timeout_s` (libpq's connect_timeout). Null with `error` otherwise.
    static std::unique_ptr<pg_connection> connect(const std::string& conninfo, int timeout_s, std::string& error);
    ~pg_connection();
    pg_connection(const pg_connection&) = delete;
    pg_connection& operator=(const pg_connection&) = delete;

    // Runs one statement with text parameters (nullopt = NULL). nullopt on failure, with error().
    std::optional<pg_rows> query(const char* sql, const std::vector<std::optional<std::string>>& params = {});
    // Runs statements without parameters (several may be separated by ';').
    bool run(const char* sql);
    const std::string& error() const { return error_; }
    // Whether the connection still works (false after the server went away).
    bool ok() const;
    // "host:port/dbname": for logs.
    std::string describe() const;

private:
    explicit pg_connection(PGconn* conn) : conn_(conn) {}
    void take_error(const char* what);

    PGconn* conn_;
    std::string error_;
};

}  // namespace creditgate::policies
