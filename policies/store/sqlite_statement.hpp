#pragma once
// sqlite_statement: the few SQLite helpers the ledger's writer and its queries share. Internal to
// policies/store; nothing outside the SQLite store includes it.

#include <sqlite3.h>

#include <string>
#include <string_view>

namespace creditgate::policies::sqlite_statement {

inline std::string last_error(sqlite3* db) { return db ? sqlite3_errmsg(db) : "out of memory"; }

inline bool exec(sqlite3* db, const char* sql, std::string* error = nullptr) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db, sql, nullptr, nullptr, &message);
    if (rc != SQLITE_OK && error) *error = message ? message : last_error(db);
    sqlite3_free(message);
    return rc == SQLITE_OK;
}

// A prepared statement that finalizes itself.
class statement {
public:
    statement(sqlite3* db, const std::string& sql) { sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr); }
    ~statement() { sqlite3_finalize(stmt_); }
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    explicit operator bool() const { return stmt_ != nullptr; }
    sqlite3_stmt* get() const { return stmt_; }

private:
    sqlite3_stmt* stmt_ = nullptr;
};

inline void bind_text(sqlite3_stmt* s, int i, std::string_view text) {
    sqlite3_bind_text(s, i, text.data(), static_cast<int>(text.size()), SQLITE_STATIC);
}

// A text column as a string (NULL reads as empty).
inline std::string column_text(sqlite3_stmt* s, int i) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(s, i));
    return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(s, i))) : std::string();
}

}  // namespace creditgate::policies::sqlite_statement
