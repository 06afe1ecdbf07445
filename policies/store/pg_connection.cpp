#include "policies/store/pg_connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <utility>

namespace creditgate::policies {

pg_rows::pg_rows(PGresult* result) : result_(result) {}

pg_rows& pg_rows::operator=(pg_rows&& other) noexcept {
    if (this != &other) {
        if (result_) PQclear(result_);
        result_ = std::exchange(other.result_, nullptr);
    }
    return *this;
}

pg_rows::~pg_rows() {
    if (result_) PQclear(result_);
}

int pg_rows::size() const { return result_ ? PQntuples(result_) : 0; }

bool pg_rows::null(int row, int column) const { return !result_ || PQgetisnull(result_, row, column); }

std::string_view pg_rows::text(int row, int column) const {
    if (null(row, column)) return {};
    return {PQgetvalue(result_, row, column), static_cast<std::size_t>(PQgetlength(result_, row, column))};
}

std::int64_t pg_rows::int64(int row, int column) const {
    const std::string_view t = text(row, column);
    std::int64_t value = 0;
    std::from_chars(t.data(), t.data() + t.size(), value);
    return value;
}

std::unique_ptr<pg_connection> pg_connection::connect(const std::string& conninfo, int timeout_s, std::string& error) {
    // expand_dbname: `dbname` may be a whole conninfo string or a postgresql:// URI; the keys
    // after it are defaults it can override, except where ours come later.
    const std::string timeout = std::to_string(std::max(1, timeout_s));
    // A dead server must not hold the store's thread for minutes: TCP gives up within 10 s, and
    // a statement that waits on a lock longer than that fails instead of hanging.
    const char* keys[] = {"dbname", "connect_timeout", "application_name", "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "tcp_user_timeout", "options", nullptr};
    const char* values[] = {conninfo.c_str(), timeout.c_str(), "creditgate", "5", "2", "3", "10000",
                            "-c statement_timeout=10000 -c lock_timeout=10000", nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 1);
    if (!conn) {
        error = "out of memory";
        return nullptr;
    }
    if (PQstatus(conn) != CONNECTION_OK) {
        std::string message = PQerrorMessage(conn);
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
        error = message;  // libpq's messages name host and port, never the password
        PQfinish(conn);
        return nullptr;
    }
    PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);  // NOTICEs of IF NOT EXISTS are expected
    return std::unique_ptr<pg_connection>(new pg_connection(conn));
}

pg_connection::~pg_connection() { PQfinish(conn_); }

void pg_connection::take_error(const char* what) {
    error_ = what;
    while (!error_.empty() && (error_.back() == '\n' || error_.back() == ' ')) error_.pop_back();
}

std::optional<pg_rows> pg_connection::query(const char* sql, const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* result = PQexecParams(conn_, sql, static_cast<int>(values.size()), nullptr, values.data(), nullptr, nullptr, 0);
    pg_rows rows(result);
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        take_error(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
        return std::nullopt;
    }
    return rows;
}

bool pg_connection::run(const char* sql) {
    PGresult* result = PQexec(conn_, sql);
    pg_rows rows(result);
    const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return true;
    take_error(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
    return false;
}

bool pg_connection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

std::string pg_connection::describe() const {
    const char* host = PQhost(conn_);
    const char* port = PQport(conn_);
    const char* db = PQdb(conn_);
    return std::string(host ? host : "?") + ":" + (port ? port : "?") + "/" + (db ? db : "?");
}

}  // namespace creditgate::policies
