// The SQLite ledger's read side: a budget's used amount for a window (at start and reload) and
// usage reports, on the store's own read connection so that they never wait for the writer.
#include "policies/store/sqlite_store.hpp"

#include "policies/store/sqlite_statement.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <climits>
#include <string>
#include <variant>
#include <vector>

namespace creditgate::policies {
namespace {

using namespace sqlite_statement;

// SQL parameters gathered while a WHERE clause is built: texts and integers, in order.
struct bound_values {
    std::vector<std::variant<std::string, std::int64_t>> values;
    void text(std::string v) { values.emplace_back(std::move(v)); }
    void integer(std::int64_t v) { values.emplace_back(v); }
    void bind(sqlite3_stmt* s) const {
        for (std::size_t i = 0; i < values.size(); ++i) {
            const int at = static_cast<int>(i + 1);
            if (const auto* t = std::get_if<std::string>(&values[i])) sqlite3_bind_text(s, at, t->data(), static_cast<int>(t->size()), SQLITE_TRANSIENT);
            else sqlite3_bind_int64(s, at, std::get<std::int64_t>(values[i]));
        }
    }
};

// Columns `at` (a sum of whole units) and `at + 1` (a sum of µ remainders) as one amount.
money split_sum(sqlite3_stmt* s, int at) {
    money_sum total;
    total += money_sum(money::from_micros(sqlite3_column_int64(s, at + 1)));
    const __int128 units = static_cast<__int128>(sqlite3_column_int64(s, at)) * money::micros_per_unit;
    const __int128 clamped = units > INT64_MAX ? INT64_MAX : units < INT64_MIN ? INT64_MIN : units;
    total += money::from_micros(static_cast<std::int64_t>(clamped));
    return total.to_money();
}

unix_millis to_millis(unix_seconds s) { return s >= LLONG_MAX / 1000 ? LLONG_MAX : s <= LLONG_MIN / 1000 ? LLONG_MIN : s * 1000; }

}  // namespace

std::optional<money> sqlite_store::used(const budget_usage_query& q) {
    // SQLite's SUM fails on integer overflow, and a failed sum would keep the proxy from starting:
    // the amounts are summed as whole units and µ remainders (x = x / 10^6 × 10^6 + x % 10^6,
    // each sum far from the int64 ends) and put together exactly in 128 bits.
    const std::string amount = q.in_usd ? "cost_usd" : "(CASE WHEN finished_at IS NULL THEN estimate ELSE actual END)";
    bound_values values;
    values.integer(to_millis(q.window.start));
    values.integer(to_millis(q.window.end));
    std::string where;
    auto filter = [&](const char* column, const std::optional<std::string>& value) {
        if (!value) return;
        where += std::string(" AND ") + column + " = ?";
        values.text(*value);
    };
    filter("vendor", q.vendor != "*" ? std::optional<std::string>(q.vendor) : std::nullopt);
    filter("team", q.scope.team);
    filter("client", q.scope.client);
    filter("account", q.scope.account);
    // Raw rows, but for finished ones the retention pass may have deleted (their days are summed below).
    std::string sql = "SELECT COALESCE(SUM(" + amount + " / 1000000), 0), COALESCE(SUM(" + amount + " % 1000000), 0)"
                      " FROM calls WHERE admitted_at >= ? AND admitted_at < ?" + where +
                      " AND (finished_at IS NULL OR admitted_at >= (SELECT pruned_before FROM retention))";
    bound_values raw_values = values;
    if (q.scope.path_prefix) {
        // Byte-wise, as admission compares prefixes. (The horizon never passes such a budget's window.)
        sql += " AND substr(CAST(path AS BLOB), 1, ?) = CAST(? AS BLOB)";
        raw_values.integer(static_cast<std::int64_t>(q.scope.path_prefix->size()));
        raw_values.text(*q.scope.path_prefix);
    }
    std::lock_guard lock(read_mutex_);
    money_sum total;
    {
        statement s(read_db_, sql);
        if (!s) return std::nullopt;
        raw_values.bind(s.get());
        if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
        total += split_sum(s.get(), 0);
    }
    if (!q.scope.path_prefix) {
        // Days before the horizon: from the roll-up (windows start at UTC midnights).
        const std::string column = q.in_usd ? "cost_usd" : "credits";
        const std::string rolled = "SELECT COALESCE(SUM(" + column + " / 1000000), 0), COALESCE(SUM(" + column + " % 1000000), 0)"
                                   " FROM usage_daily WHERE day >= ? / 86400000 AND day < MIN(? , (SELECT pruned_before FROM retention))"
                                   " / 86400000" + where;
        statement s(read_db_, rolled);
        if (!s) return std::nullopt;
        values.bind(s.get());
        if (sqlite3_step(s.get()) != SQLITE_ROW) return std::nullopt;
        total += split_sum(s.get(), 0);
    }
    return total.to_money();
}

namespace {

// A usage query's source: the per-day sums (day or coarser), or the raw finished calls when it
// groups by hour (so hours answer only for days retention has kept).
struct usage_sql {
    std::string select;  // the measures, in the order usage() reads them
    std::string from;    // table and time range, with two placeholders
    std::string day, hour;
};

usage_sql daily_source() {
    return {"SUM(requests), SUM(succeeded), SUM(rejected), SUM(credits / 1000000), SUM(credits % 1000000),"
            " SUM(cost_usd / 1000000), SUM(cost_usd % 1000000),"
            " CASE WHEN SUM(latency_n) > 0 THEN CAST(SUM(latency_sum) AS REAL) / SUM(latency_n) END,"
            " COUNT(DISTINCT vendor), MIN(vendor)",
            " FROM usage_daily WHERE day >= ? AND day <= ?", "date(day * 86400, 'unixepoch')", ""};
}

usage_sql hourly_source() {
    // The same sums the writer keeps per day (call_row.hpp: succeeded, is_rejection), per call.
    const std::string answered = "(decision IN ('allowed', 'queued_allowed', 'shadow_would_reject') AND status BETWEEN 100 AND 399)";
    const std::string rejected = "(decision IN ('rejected', 'queue_timeout'))";
    return {"COUNT(*), SUM(" + answered + "), SUM(" + rejected + "), SUM(actual / 1000000), SUM(actual % 1000000),"
            " SUM(COALESCE(cost_usd, 0) / 1000000), SUM(COALESCE(cost_usd, 0) % 1000000),"
            " CASE WHEN SUM(NOT " + rejected + ") > 0 THEN CAST(SUM(CASE WHEN NOT " + rejected +
                " THEN latency_ms ELSE 0 END) AS REAL) / SUM(NOT " + rejected + ") END,"
            " COUNT(DISTINCT vendor), MIN(vendor)",
            " FROM calls WHERE finished_at IS NOT NULL AND admitted_at >= ? * 86400000 AND admitted_at < (? + 1) * 86400000",
            "date(admitted_at / 1000, 'unixepoch')", "strftime('%Y-%m-%dT%H:00Z', admitted_at / 1000, 'unixepoch')"};
}

}  // namespace

std::optional<std::vector<usage_row>> sqlite_store::usage(const usage_query& q) {
    const bool hourly = std::find(q.group_by.begin(), q.group_by.end(), usage_group::hour) != q.group_by.end();
    const usage_sql source = hourly ? hourly_source() : daily_source();
    std::string keys;
    for (const auto g : q.group_by) {
        if (!keys.empty()) keys += ", ";
        keys += g == usage_group::day ? source.day : g == usage_group::hour ? source.hour : std::string(to_string(g));
    }
    // Finished calls only: a pending call (in flight, or lost in a crash) is not in them.
    std::string sql = "SELECT " + (keys.empty() ? std::string() : keys + ", ") + source.select + source.from;
    bound_values values;
    values.integer(days_from_civil(q.from));
    values.integer(days_from_civil(q.to));
    auto filter = [&](const char* column, const std::optional<std::string>& value) {
        if (!value) return;
        sql += " AND ";
        sql += column;
        sql += " = ?";
        values.text(*value);
    };
    filter("client", q.client);
    filter("team", q.team);
    filter("vendor", q.vendor);
    if (!keys.empty()) sql += " GROUP BY " + keys + " ORDER BY " + keys;

    std::vector<usage_row> rows;
    std::lock_guard lock(read_mutex_);
    statement s(read_db_, sql);
    if (!s) return std::nullopt;
    values.bind(s.get());
    const int n = static_cast<int>(q.group_by.size());
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
        usage_row r;
        for (int i = 0; i < n; ++i) r.keys.push_back(column_text(s.get(), i));
        r.requests = sqlite3_column_int64(s.get(), n);
        if (r.requests == 0) continue;  // no grouping and no rows: one empty aggregate
        r.succeeded = sqlite3_column_int64(s.get(), n + 1);
        r.rejected = sqlite3_column_int64(s.get(), n + 2);
        r.failed = r.requests - r.succeeded - r.rejected;
        r.credits = split_sum(s.get(), n + 3);
        r.cost_usd = split_sum(s.get(), n + 5);
        r.avg_latency_ms = sqlite3_column_type(s.get(), n + 7) == SQLITE_NULL ? 0.0 : sqlite3_column_double(s.get(), n + 7);
        r.vendors = sqlite3_column_int64(s.get(), n + 8);
        r.vendor = column_text(s.get(), n + 9);
        rows.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return std::nullopt;
    return rows;
}

}  // namespace creditgate::policies
