#include "policies/store/pg_queries.hpp"

#include <algorithm>

#include <unordered_map>

namespace creditgate::policies {
namespace {

using params = std::vector<std::optional<std::string>>;

money money_of(std::string_view text) {
    const auto micros = parse_lease_amount(text.substr(0, text.find('.')));
    if (!micros) return money{};
    return money_sum::of_micros(*micros).to_money();
}

// Rows go as one array per column, unnested on the server: 19 parameters for any number of rows
// instead of 19 per row (a 500-row VALUES statement spent most of its time in parse and plan).
constexpr std::size_t rows_per_statement = 20'000;

constexpr const char* write_sql =
    "WITH v AS (SELECT * FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[],"
    " $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::integer[], $14::text[], $15::bigint[],"
    " $16::bigint[], $17::bigint[], $18::bigint[], $19::boolean[], $20::boolean[])"
    " AS v (id, admitted_at, finished_at, request_id, client, team, vendor, account, method, host, path, status,"
    " decision, estimate, actual, cost_usd, latency_ms, ok, rejected)),"
    " ins AS (INSERT INTO creditgate_calls (id, run, admitted_at, finished_at, request_id, client, team, vendor,"
    " account, method, host, path, status, decision, estimate, actual, cost_usd, latency_ms)"
    " SELECT id, $1::bigint, admitted_at, finished_at, request_id, client, team, vendor, account, method, host, path, status,"
    " decision, estimate, actual, cost_usd, latency_ms FROM v"
    " ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,"
    " decision = excluded.decision, actual = excluded.actual, cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms"
    " WHERE creditgate_calls.finished_at IS NULL"
    " RETURNING id, finished_at)"
    // Only rows this statement finished count in the day's sums: a batch sent again after an
    // answer was lost finds them finished and adds nothing.
    " INSERT INTO creditgate_usage_daily AS u (day, client, team, vendor, account, requests, succeeded, rejected,"
    " credits, cost_usd, latency_sum, latency_n)"
    " SELECT floor(v.admitted_at / 86400000.0)::bigint, v.client, v.team, v.vendor, v.account, count(*),"
    " count(*) FILTER (WHERE v.ok), count(*) FILTER (WHERE v.rejected), sum(v.actual), sum(COALESCE(v.cost_usd, 0)),"
    " COALESCE(sum(v.latency_ms) FILTER (WHERE NOT v.rejected), 0), count(*) FILTER (WHERE NOT v.rejected)"
    " FROM v JOIN ins ON ins.id = v.id WHERE ins.finished_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5"
    " ON CONFLICT (day, client, team, vendor, account) DO UPDATE SET requests = u.requests + excluded.requests,"
    " succeeded = u.succeeded + excluded.succeeded, rejected = u.rejected + excluded.rejected,"
    " credits = u.credits + excluded.credits, cost_usd = u.cost_usd + excluded.cost_usd,"
    " latency_sum = u.latency_sum + excluded.latency_sum, latency_n = u.latency_n + excluded.latency_n";

// One column as a PostgreSQL array literal: {1,NULL,...} or {"text","x\"y",...}.
class array_literal {
public:
    explicit array_literal(bool quoted) : quoted_(quoted), text_(1, '{') {}
    void add(std::string_view value) {
        if (text_.size() > 1) text_ += ',';
        if (!quoted_) {
            text_ += value;
            return;
        }
        text_ += '"';
        for (char c : value) {
            if (c == '"' || c == '\\') text_ += '\\';
            text_ += c;
        }
        text_ += '"';
    }
    void add_number(std::int64_t value) { add(std::to_string(value)); }
    void add_null() {
        if (text_.size() > 1) text_ += ',';
        text_ += "NULL";
    }
    std::string done() {
        text_ += '}';
        return std::move(text_);
    }

private:
    bool quoted_;
    std::string text_;
};

bool write_batch(pg_connection& db, std::int64_t run, const std::vector<const call_row*>& rows) {
    std::vector<array_literal> cols;
    constexpr bool quoted[19] = {false, false, false, true, true, true, true, true, true, true, true,
                                 false, true, false, false, false, false, false, false};
    for (bool q : quoted) cols.emplace_back(q);
    for (const call_row* r : rows) {
        cols[0].add_number(r->id);
        cols[1].add_number(r->admitted_at);
        if (r->finished_at) cols[2].add_number(*r->finished_at);
        else cols[2].add_null();
        int c = 3;
        for (const std::string* t : {&r->request_id, &r->client, &r->team, &r->vendor, &r->account, &r->method, &r->host, &r->path})
            cols[c++].add(*t);
        cols[11].add_number(r->status);
        cols[12].add(to_string(r->decision));
        cols[13].add_number(r->estimate.micros());
        cols[14].add_number(r->actual.micros());
        if (r->cost_usd) cols[15].add_number(r->cost_usd->micros());
        else cols[15].add_null();
        cols[16].add_number(r->latency_ms);
        cols[17].add(succeeded(*r) ? "t" : "f");
        cols[18].add(is_rejection(r->decision) ? "t" : "f");
    }
    params p;
    p.reserve(20);
    p.emplace_back(std::to_string(run));
    for (auto& col : cols) p.emplace_back(col.done());
    return db.query(write_sql, p).has_value();
}

}  // namespace

std::optional<lease_amount> pg_used(pg_connection& db, const budget_usage_query& q) {
    const std::string amount = q.in_usd ? "cost_usd" : "(CASE WHEN finished_at IS NULL THEN estimate ELSE actual END)";
    auto millis = [](unix_seconds s) { return s >= INT64_MAX / 1000 ? INT64_MAX : s <= INT64_MIN / 1000 ? INT64_MIN : s * 1000; };
    params p{std::to_string(millis(q.window.start)), std::to_string(millis(q.window.end))};
    std::string where;
    auto filter = [&](const char* column, const std::optional<std::string>& value) {
        if (!value) return;
        p.emplace_back(*value);
        where += std::string(" AND ") + column + " = $" + std::to_string(p.size());
    };
    filter("vendor", q.vendor != "*" ? std::optional<std::string>(q.vendor) : std::nullopt);
    filter("team", q.scope.team);
    filter("client", q.scope.client);
    filter("account", q.scope.account);
    // Raw rows, but for finished ones the retention pass may have deleted: their days come from
    // the per-day sums (windows start at UTC midnights). A path_prefix budget has no sums to use;
    // the retention horizon never passes its window's start.
    std::string sql = "SELECT COALESCE((SELECT SUM(" + amount + "::numeric) FROM creditgate_calls"
                      " WHERE admitted_at >= $1 AND admitted_at < $2" + where +
                      " AND (finished_at IS NULL OR admitted_at >= (SELECT pruned_before FROM creditgate_retention))";
    if (q.scope.path_prefix) {
        p.emplace_back(*q.scope.path_prefix);
        // Byte-wise, as admission compares prefixes.
        sql += " AND substr(convert_to(path, 'UTF8'), 1, octet_length(convert_to($" + std::to_string(p.size()) +
               ", 'UTF8'))) = convert_to($" + std::to_string(p.size()) + ", 'UTF8')";
        sql += "), 0)";
    } else {
        sql += std::string("), 0) + COALESCE((SELECT SUM(") + (q.in_usd ? "cost_usd" : "credits") + ") FROM creditgate_usage_daily"
               " WHERE day >= div($1::bigint, 86400000)"
               " AND day < div(LEAST($2::bigint, (SELECT pruned_before FROM creditgate_retention)), 86400000)" + where + "), 0)";
    }
    auto rows = db.query(sql.c_str(), p);
    if (!rows || rows->size() != 1) return std::nullopt;
    return parse_lease_amount(rows->text(0, 0));
}

std::optional<std::int64_t> pg_prune(pg_connection& db, civil_date before) {
    const std::string before_ms = std::to_string(days_from_civil(before) * 86'400'000);
    if (!db.query("UPDATE creditgate_retention SET pruned_before = GREATEST(pruned_before, $1::bigint)", {before_ms})) return std::nullopt;
    // Small transactions (autocommit): the fleet's exchanges never wait long behind one.
    std::int64_t deleted = 0;
    for (;;) {
        auto rows = db.query("WITH gone AS (DELETE FROM creditgate_calls WHERE id IN (SELECT id FROM creditgate_calls"
                             " WHERE admitted_at < $1::bigint AND finished_at IS NOT NULL LIMIT 5000) RETURNING 1)"
                             " SELECT count(*) FROM gone",
                             {before_ms});
        if (!rows) return std::nullopt;
        const std::int64_t n = rows->int64(0, 0);
        deleted += n;
        if (n < 5000) return deleted;
    }
}

std::optional<std::vector<usage_row>> pg_usage(pg_connection& db, const usage_query& q) {
    // The per-day sums, or the raw finished calls when grouped by hour (as in sqlite_queries.cpp).
    const bool hourly = std::find(q.group_by.begin(), q.group_by.end(), usage_group::hour) != q.group_by.end();
    const std::string rejected = "(decision IN ('rejected', 'queue_timeout'))";
    const std::string day_of_call = "to_char(to_timestamp(admitted_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD')";
    std::string keys;
    for (const auto g : q.group_by) {
        if (!keys.empty()) keys += ", ";
        if (g == usage_group::day)
            keys += hourly ? day_of_call : std::string("to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD')");
        else if (g == usage_group::hour)
            keys += "to_char(to_timestamp(admitted_at / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:00\"Z\"')";
        else
            keys += std::string(to_string(g));
    }
    std::string sql = "SELECT " + (keys.empty() ? std::string() : keys + ", ");
    if (hourly) {
        sql += "count(*), count(*) FILTER (WHERE decision IN ('allowed', 'queued_allowed', 'shadow_would_reject') AND status BETWEEN 100 AND 399),"
               " count(*) FILTER (WHERE " + rejected + "), SUM(actual), SUM(COALESCE(cost_usd, 0)),"
               " AVG(latency_ms) FILTER (WHERE NOT " + rejected + "), count(DISTINCT vendor), MIN(vendor)"
               " FROM creditgate_calls WHERE finished_at IS NOT NULL AND admitted_at >= $1::bigint * 86400000"
               " AND admitted_at < ($2::bigint + 1) * 86400000";
    } else {
        sql += "SUM(requests), SUM(succeeded), SUM(rejected), SUM(credits), SUM(cost_usd),"
               " CASE WHEN SUM(latency_n) > 0 THEN SUM(latency_sum)::float8 / SUM(latency_n) END, count(DISTINCT vendor), MIN(vendor)"
               " FROM creditgate_usage_daily WHERE day >= $1 AND day <= $2";
    }
    params p{std::to_string(days_from_civil(q.from)), std::to_string(days_from_civil(q.to))};
    auto filter = [&](const char* column, const std::optional<std::string>& value) {
        if (!value) return;
        p.emplace_back(*value);
        sql += std::string(" AND ") + column + " = $" + std::to_string(p.size());
    };
    filter("client", q.client);
    filter("team", q.team);
    filter("vendor", q.vendor);
    if (!keys.empty()) sql += " GROUP BY " + keys + " ORDER BY " + keys;
    auto result = db.query(sql.c_str(), p);
    if (!result) return std::nullopt;
    std::vector<usage_row> rows;
    const int n = static_cast<int>(q.group_by.size());
    for (int i = 0; i < result->size(); ++i) {
        usage_row r;
        for (int k = 0; k < n; ++k) r.keys.emplace_back(result->text(i, k));
        r.requests = result->int64(i, n);
        if (r.requests == 0) continue;  // no grouping and no rows: one empty aggregate
        r.succeeded = result->int64(i, n + 1);
        r.rejected = result->int64(i, n + 2);
        r.failed = r.requests - r.succeeded - r.rejected;
        r.credits = money_of(result->text(i, n + 3));
        r.cost_usd = money_of(result->text(i, n + 4));
        r.avg_latency_ms = result->null(i, n + 5) ? 0.0 : std::strtod(std::string(result->text(i, n + 5)).c_str(), nullptr);
        r.vendors = result->int64(i, n + 6);
        r.vendor = std::string(result->text(i, n + 7));
        rows.push_back(std::move(r));
    }
    return rows;
}

std::optional<std::vector<instance_view>> pg_instances(pg_connection& db, std::int64_t run) {
    auto found = db.query("SELECT run, name, extract(epoch FROM started_at)::bigint,"
                          " extract(epoch FROM clock_timestamp() - heartbeat_at)::float8 FROM creditgate_instances ORDER BY started_at, run");
    // Held per run and budget, as amounts of the budget's unit: µ already for credits, money and
    // rate tokens; whole slots for concurrency.
    auto held = found ? db.query("SELECT l.run, l.budget_id, SUM(GREATEST(0, l.granted - l.spent - l.returned)"
                                 " * CASE WHEN b.kind = 'concurrency' THEN 1000000 ELSE 1 END)"
                                 " FROM creditgate_leases l JOIN creditgate_budget_rows b USING (budget_key, period_start)"
                                 " WHERE l.uses_lease GROUP BY 1, 2 ORDER BY 1, 2")
                      : std::nullopt;
    if (!found || !held) return std::nullopt;
    std::vector<instance_view> out;
    for (int i = 0; i < found->size(); ++i) {
        instance_view v;
        v.name = std::string(found->text(i, 1));
        v.started_at = found->int64(i, 2);
        v.heartbeat_age_s = std::max(0.0, std::strtod(std::string(found->text(i, 3)).c_str(), nullptr));
        v.self = found->int64(i, 0) == run;
        for (int k = 0; k < held->size(); ++k)
            if (held->int64(k, 0) == found->int64(i, 0)) v.leases.emplace_back(std::string(held->text(k, 1)), money_of(held->text(k, 2)));
        out.push_back(std::move(v));
    }
    return out;
}

bool pg_write_rows(pg_connection& db, std::int64_t run, const std::vector<call_row>& rows) {
    // One statement may not touch a row twice: a call's pending and finished rows in one batch
    // go as the finished one.
    std::unordered_map<std::int64_t, std::size_t> last;
    last.reserve(rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) last[rows[i].id] = i;
    std::vector<const call_row*> unique;
    unique.reserve(last.size());
    for (std::size_t i = 0; i < rows.size(); ++i)
        if (last[rows[i].id] == i) unique.push_back(&rows[i]);
    for (std::size_t at = 0; at < unique.size(); at += rows_per_statement) {
        const std::size_t n = std::min(rows_per_statement, unique.size() - at);
        if (!write_batch(db, run, {unique.begin() + at, unique.begin() + at + n})) return false;
    }
    return true;
}

}  // namespace creditgate::policies
