#include "policies/store/pg_queries.hpp"

#include <unordered_map>

namespace creditgate::policies {
namespace {

using params = std::vector<std::optional<std::string>>;

money money_of(std::string_view text) {
    const auto micros = parse_lease_amount(text.substr(0, text.find('.')));
    if (!micros) return money{};
    return money_sum::of_micros(*micros).to_money();
}

constexpr int row_columns = 20;
constexpr std::size_t rows_per_statement = 500;  // 10,000 parameters: well under libpq's 65,535

std::string write_sql(std::size_t rows) {
    static const char* casts[row_columns] = {"bigint", "bigint", "bigint", "bigint", "text", "text", "text",
                                             "text",   "text",   "text",   "text",   "text", "integer", "text",
                                             "bigint", "bigint", "bigint", "bigint", "boolean", "boolean"};
    std::string sql =
        "WITH v (id, run, admitted_at, finished_at, request_id, client, team, vendor, account, method, host, path, status,"
        " decision, estimate, actual, cost_usd, latency_ms, ok, rejected) AS (VALUES ";
    int n = 1;
    for (std::size_t r = 0; r < rows; ++r) {
        sql += r ? ",(" : "(";
        for (int c = 0; c < row_columns; ++c) {
            if (c) sql += ',';
            sql += '$';
            sql += std::to_string(n++);
            sql += "::";
            sql += casts[c];
        }
        sql += ')';
    }
    sql += "), ins AS (INSERT INTO creditgate_calls (id, run, admitted_at, finished_at, request_id, client, team, vendor,"
           " account, method, host, path, status, decision, estimate, actual, cost_usd, latency_ms)"
           " SELECT id, run, admitted_at, finished_at, request_id, client, team, vendor, account, method, host, path, status,"
           " decision, estimate, actual, cost_usd, latency_ms FROM v"
           " ON CONFLICT (id) DO UPDATE SET finished_at = excluded.finished_at, status = excluded.status,"
           " decision = excluded.decision, actual = excluded.actual, cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms"
           " WHERE creditgate_calls.finished_at IS NULL"
           " RETURNING id, finished_at)"
           // Only rows this statement finished count in the day's sums: a batch sent again after
           // an answer was lost finds them finished and adds nothing.
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
    return sql;
}

void add_row(params& p, std::int64_t run, const call_row& r) {
    p.emplace_back(std::to_string(r.id));
    p.emplace_back(std::to_string(run));
    p.emplace_back(std::to_string(r.admitted_at));
    p.emplace_back(r.finished_at ? std::optional<std::string>(std::to_string(*r.finished_at)) : std::nullopt);
    for (const std::string* t : {&r.request_id, &r.client, &r.team, &r.vendor, &r.account, &r.method, &r.host, &r.path})
        p.emplace_back(*t);
    p.emplace_back(std::to_string(r.status));
    p.emplace_back(std::string(to_string(r.decision)));
    p.emplace_back(std::to_string(r.estimate.micros()));
    p.emplace_back(std::to_string(r.actual.micros()));
    p.emplace_back(r.cost_usd ? std::optional<std::string>(std::to_string(r.cost_usd->micros())) : std::nullopt);
    p.emplace_back(std::to_string(r.latency_ms));
    p.emplace_back(succeeded(r) ? "true" : "false");
    p.emplace_back(is_rejection(r.decision) ? "true" : "false");
}

}  // namespace

std::optional<lease_amount> pg_used(pg_connection& db, const budget_usage_query& q) {
    const std::string amount = q.in_usd ? "cost_usd" : "(CASE WHEN finished_at IS NULL THEN estimate ELSE actual END)";
    std::string sql = "SELECT COALESCE(SUM(" + amount + "::numeric), 0) FROM creditgate_calls WHERE admitted_at >= $1 AND admitted_at < $2";
    auto millis = [](unix_seconds s) { return s >= INT64_MAX / 1000 ? INT64_MAX : s <= INT64_MIN / 1000 ? INT64_MIN : s * 1000; };
    params p{std::to_string(millis(q.window.start)), std::to_string(millis(q.window.end))};
    auto filter = [&](const char* column, const std::optional<std::string>& value) {
        if (!value) return;
        p.emplace_back(*value);
        sql += std::string(" AND ") + column + " = $" + std::to_string(p.size());
    };
    filter("vendor", q.vendor != "*" ? std::optional<std::string>(q.vendor) : std::nullopt);
    filter("team", q.scope.team);
    filter("client", q.scope.client);
    filter("account", q.scope.account);
    if (q.scope.path_prefix) {
        p.emplace_back(*q.scope.path_prefix);
        // Byte-wise, as admission compares prefixes.
        sql += " AND substr(convert_to(path, 'UTF8'), 1, octet_length(convert_to($" + std::to_string(p.size()) +
               ", 'UTF8'))) = convert_to($" + std::to_string(p.size()) + ", 'UTF8')";
    }
    auto rows = db.query(sql.c_str(), p);
    if (!rows || rows->size() != 1) return std::nullopt;
    return parse_lease_amount(rows->text(0, 0));
}

std::optional<std::vector<usage_row>> pg_usage(pg_connection& db, const usage_query& q) {
    std::string keys;
    for (const auto g : q.group_by) {
        if (!keys.empty()) keys += ", ";
        keys += g == usage_group::day ? std::string("to_char(to_timestamp(day * 86400) AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
                                      : std::string(to_string(g));
    }
    std::string sql = "SELECT " + (keys.empty() ? std::string() : keys + ", ") +
                      "SUM(requests), SUM(succeeded), SUM(rejected), SUM(credits), SUM(cost_usd),"
                      " CASE WHEN SUM(latency_n) > 0 THEN SUM(latency_sum)::float8 / SUM(latency_n) END"
                      " FROM creditgate_usage_daily WHERE day >= $1 AND day <= $2";
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
    params p;
    for (std::size_t at = 0; at < unique.size(); at += rows_per_statement) {
        const std::size_t n = std::min(rows_per_statement, unique.size() - at);
        p.clear();
        p.reserve(n * row_columns);
        for (std::size_t i = 0; i < n; ++i) add_row(p, run, *unique[at + i]);
        if (!db.query(write_sql(n).c_str(), p)) return false;
    }
    return true;
}

}  // namespace creditgate::policies
