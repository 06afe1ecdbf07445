// One exchange between this process's books and the fleet's rows: a transaction that
// heartbeats, reclaims silent runs, reports every shared budget (creditgate_report) and writes
// the rows appended since the last one. All or nothing: on failure the rows and final reports
// wait for the next try, and cumulative reports need no undo.
#include "policies/store/postgres_store.hpp"

#include "policies/ledger.hpp"
#include "policies/store/pg_connection.hpp"
#include "policies/store/pg_queries.hpp"

namespace creditgate::policies {
namespace {

using params = std::vector<std::optional<std::string>>;

lease_amount amount_at(const pg_rows& rows, int column) { return parse_lease_amount(rows.text(0, column)).value_or(0); }

// Reports one window; nullopt when the database failed.
std::optional<lease_reply> report(pg_connection& db, std::int64_t run, std::uint32_t holder, const lease_report& r, int instances) {
    std::optional<std::string> seed;
    if (r.ensure_row && r.seed) {
        // A new central row starts from what the shared ledger's rows say (SPEC §7); the scan
        // runs only while the row does not exist yet.
        auto exists = db.query("SELECT 1 FROM creditgate_budget_rows WHERE budget_key = $1 AND period_start = $2",
                               {r.key, std::to_string(r.window.start)});
        if (!exists) return std::nullopt;
        if (exists->size() == 0) {
            budget_usage_query q{r.seed->vendor, r.seed->scope, r.window, r.seed->in_usd};
            auto used = pg_used(db, q);
            if (!used) return std::nullopt;
            seed = to_decimal(*used);
        }
    }
    auto rows = db.query(
        "SELECT grant_amount, denied, limit_amount, used, leased, others_frozen, tokens, granted FROM creditgate_report("
        "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        {std::to_string(run), std::to_string(holder), r.key, std::to_string(r.window.start),
         std::to_string(std::min<unix_seconds>(r.window.end, INT64_MAX)), r.id, std::string(to_string(r.kind)),
         r.leases ? "true" : "false", to_decimal(r.limit), to_decimal(r.refill_per_s), seed, to_decimal(r.spent),
         to_decimal(r.returned), to_decimal(r.frozen), to_decimal(r.ask_min), to_decimal(r.ask_want), to_decimal(r.claim_least), r.final ? "true" : "false",
         std::to_string(instances)});
    if (!rows || rows->size() != 1) return std::nullopt;
    lease_reply reply;
    reply.budget = r.budget;
    reply.window = r.window;
    reply.asked = r.ask_min > 0;
    reply.grant = amount_at(*rows, 0);
    reply.denied = rows->text(0, 1) == "t";
    reply.view.known = true;
    reply.view.limit = amount_at(*rows, 2);
    reply.view.used = amount_at(*rows, 3);
    reply.view.leased = amount_at(*rows, 4);
    reply.view.others_frozen = amount_at(*rows, 5);
    reply.view.tokens = amount_at(*rows, 6);
    reply.view.granted = amount_at(*rows, 7);
    return reply;
}

bool send_account(pg_connection& db, const account_report& a) {
    auto opt = [](const std::optional<std::int64_t>& v) { return v ? std::optional<std::string>(std::to_string(*v)) : std::nullopt; };
    return db.query(
               "INSERT INTO creditgate_accounts AS a (id, vendor, reading, source, reading_ms, exhausted, exhausted_ms, poll_error, error_ms)"
               " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO UPDATE SET vendor = excluded.vendor,"
               " reading = CASE WHEN excluded.reading_ms > a.reading_ms THEN excluded.reading ELSE a.reading END,"
               " source = CASE WHEN excluded.reading_ms > a.reading_ms THEN excluded.source ELSE a.source END,"
               " reading_ms = GREATEST(a.reading_ms, excluded.reading_ms),"
               " exhausted = CASE WHEN excluded.exhausted_ms > a.exhausted_ms THEN excluded.exhausted ELSE a.exhausted END,"
               " exhausted_ms = GREATEST(a.exhausted_ms, excluded.exhausted_ms),"
               " poll_error = CASE WHEN excluded.error_ms > a.error_ms THEN excluded.poll_error ELSE a.poll_error END,"
               " error_ms = GREATEST(a.error_ms, excluded.error_ms)",
               {a.id, a.vendor, opt(a.reading), a.source, std::to_string(a.reading_ms), a.exhausted ? "true" : "false",
                std::to_string(a.exhausted_ms), a.poll_error, std::to_string(a.error_ms)})
        .has_value();
}

std::optional<std::vector<account_report>> fleet_accounts(pg_connection& db) {
    auto rows = db.query("SELECT id, vendor, reading, source, reading_ms, exhausted, exhausted_ms, poll_error, error_ms FROM creditgate_accounts");
    if (!rows) return std::nullopt;
    std::vector<account_report> out;
    for (int i = 0; i < rows->size(); ++i) {
        account_report a;
        a.id = std::string(rows->text(i, 0));
        a.vendor = std::string(rows->text(i, 1));
        if (!rows->null(i, 2)) a.reading = rows->int64(i, 2);
        a.source = std::string(rows->text(i, 3));
        a.reading_ms = rows->int64(i, 4);
        a.exhausted = rows->text(i, 5) == "t";
        a.exhausted_ms = rows->int64(i, 6);
        if (!rows->null(i, 7)) a.poll_error = std::string(rows->text(i, 7));
        a.error_ms = rows->int64(i, 8);
        out.push_back(std::move(a));
    }
    return out;
}

}  // namespace

void postgres_store::run_exchange(bool urgent) {
    exchange_batch batch = take_batch(urgent);
    if (urgent && std::all_of(batch.works.begin(), batch.works.end(), [](const auto& w) { return w.second.reports.empty(); }))
        return;
    if (!ensure_connected()) return fail(batch, "not connected");
    if (!urgent) claim_polls();
    for (const auto& w : batch.works) batch.sent_at.push_back(w.first->steady_now());
    pg_connection& db = *db_;
    if (!db.run("BEGIN")) return fail(batch, db.error());
    switch (heartbeat(db)) {
        case beat::failed: return fail(batch, db.error());
        case beat::reclaimed: return rejoin(batch);
        case beat::alive: break;
    }
    const auto instances = live_instances(db, urgent);
    if (!instances) return fail(batch, db.error());
    auto answers = send_batch(db, batch, *instances);
    if (!answers || !db.run("COMMIT")) return fail(batch, db.error());
    apply_answers(batch, *answers);
}

postgres_store::exchange_batch postgres_store::take_batch(bool urgent) {
    // Each live books' work, final works of books that went, and (regular exchanges) the rows
    // appended since.
    exchange_batch batch;
    batch.urgent = urgent;
    {
        std::lock_guard lock(mutex_);
        for (auto& [holder, weak] : books_)
            if (auto books = weak.lock()) batch.works.emplace_back(std::move(books), lease_work{holder, {}, {}, urgent});
        if (!urgent) {
            batch.finals.swap(last_works_);
            batch.rows.swap(rows_);
            in_flight_rows_ = batch.rows.size();
        }
    }
    for (auto& [books, work] : batch.works) work = books->take_lease_work(work.holder, urgent);
    return batch;
}

// The rows and final works wait for the next try; the books hear that no answer came.
void postgres_store::fail(exchange_batch& batch, std::string why) {  // a copy: `why` is often db_->error(), and db_ may go below
    {
        std::lock_guard lock(mutex_);
        rows_.insert(rows_.begin(), std::make_move_iterator(batch.rows.begin()), std::make_move_iterator(batch.rows.end()));
        in_flight_rows_ = 0;
        last_works_.insert(last_works_.begin(), std::make_move_iterator(batch.finals.begin()),
                           std::make_move_iterator(batch.finals.end()));
        last_ok_ = false;
        for (auto& [books, work] : batch.works)
            for (const auto& r : work.reports) counts_.failed += r.ask_min > 0;
    }
    done_cv_.notify_all();
    for (auto& [books, work] : batch.works) books->lease_exchange_failed();
    if (db_) db_->run("ROLLBACK");
    if (!db_ || !db_->ok()) {
        db_.reset();
        std::lock_guard lock(mutex_);
        poll_owned_.clear();  // the locks went with the connection
    }
    lost_connection(why);
}

postgres_store::beat postgres_store::heartbeat(pg_connection& db) {
    auto beat_row = db.query("UPDATE creditgate_instances SET heartbeat_at = clock_timestamp() WHERE run = $1 RETURNING run",
                             {std::to_string(run_)});
    if (!beat_row) return beat::failed;
    return beat_row->size() == 0 ? beat::reclaimed : beat::alive;
}

// No heartbeat row: the fleet reclaimed this run (silent for ttl_s). Whatever the books held is
// gone, and the process joins again as a new run.
void postgres_store::rejoin(exchange_batch& batch) {
    db_->run("ROLLBACK");
    if (options_.on_error) options_.on_error("this instance was silent past lease.ttl_s and its leases were reclaimed; joining again");
    for (auto& [books, work] : batch.works) books->leases_lost();
    batch.finals.clear();  // their leases went with the run
    std::string error;
    if (register_run(error)) {
        std::lock_guard lock(mutex_);
        rows_.insert(rows_.begin(), std::make_move_iterator(batch.rows.begin()), std::make_move_iterator(batch.rows.end()));
        in_flight_rows_ = 0;
        return;
    }
    fail(batch, error);
}

std::optional<int> postgres_store::live_instances(pg_connection& db, bool urgent) {
    const std::string ttl = std::to_string(options_.ttl_s);
    if (!urgent && std::chrono::steady_clock::now() >= next_reclaim_) {
        // Runs silent for ttl_s by the database's clock. SKIP LOCKED: two instances do not
        // reclaim the same run; either is enough.
        auto dead = db.query("SELECT creditgate_reclaim(run) FROM (SELECT run FROM creditgate_instances"
                             " WHERE heartbeat_at < clock_timestamp() - make_interval(secs => $1) FOR UPDATE SKIP LOCKED) d",
                             {ttl});
        if (!dead) return std::nullopt;
        next_reclaim_ = std::chrono::steady_clock::now() + std::chrono::seconds(std::max<std::int64_t>(1, options_.ttl_s / 3));
    }
    auto live = db.query("SELECT count(*) FROM creditgate_instances WHERE heartbeat_at >= clock_timestamp() - make_interval(secs => $1)",
                         {ttl});
    if (!live) return std::nullopt;
    return static_cast<int>(std::max<std::int64_t>(1, live->int64(0, 0)));
}

// Inside the transaction: every report, the final works, the accounts and the rows.
std::optional<std::vector<lease_answer>> postgres_store::send_batch(pg_connection& db, const exchange_batch& batch, int instances) {
    std::vector<lease_answer> answers(batch.works.size());
    for (std::size_t i = 0; i < batch.works.size(); ++i) {
        answers[i].instances = instances;
        for (const lease_report& r : batch.works[i].second.reports) {
            auto reply = report(db, run_, batch.works[i].second.holder, r, instances);
            if (!reply) return std::nullopt;
            answers[i].replies.push_back(*reply);
        }
    }
    for (const lease_work& w : batch.finals)
        for (const lease_report& r : w.reports)
            if (!report(db, run_, w.holder, r, instances)) return std::nullopt;
    if (!batch.urgent && !batch.works.empty()) {
        // Vendor accounts: what changed here goes out, the fleet's newest comes back.
        for (const auto& [books, work] : batch.works)
            for (const account_report& a : work.accounts)
                if (!send_account(db, a)) return std::nullopt;
        auto fleet = fleet_accounts(db);
        if (!fleet) return std::nullopt;
        for (auto& a : answers) a.accounts = *fleet;
    }
    // Rows after the reports: a central row seeded in this transaction counts the rows of
    // earlier ones only, and this holder's spend in these rows comes in its report.
    if (!batch.rows.empty() && !pg_write_rows(db, run_, batch.rows)) return std::nullopt;
    return answers;
}

void postgres_store::apply_answers(exchange_batch& batch, const std::vector<lease_answer>& answers) {
    for (std::size_t i = 0; i < batch.works.size(); ++i)
        batch.works[i].first->apply_lease_answer(batch.works[i].second, answers[i], batch.sent_at[i]);
    // Calls still wait (others took what came, came meanwhile, or wait for others to return
    // spare lease): go again after a short pause rather than spin on the central row.
    const bool still_waiting =
        std::any_of(batch.works.begin(), batch.works.end(), [](const auto& w) { return w.first->lease_wanted(); });
    {
        std::lock_guard lock(mutex_);
        in_flight_rows_ = 0;
        ++exchanges_done_;
        ++counts_.exchanges;
        last_ok_ = true;
        for (const auto& a : answers)
            for (const auto& r : a.replies) {
                if (!r.asked) continue;
                if (r.denied) ++counts_.denied;
                else ++counts_.granted;
            }
        if (still_waiting)
            retry_at_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(std::max<std::int64_t>(1, options_.flush_ms / 10));
    }
    done_cv_.notify_all();
    if (!online_ && options_.on_notice) options_.on_notice("the fleet's database answers again (" + db_->describe() + ")");
    online_ = true;
}

pg_connection* postgres_store::reader() {
    std::string error;
    if (!read_db_ || !read_db_->ok()) read_db_ = pg_connection::connect(options_.url, options_.connect_timeout_s, error);
    return read_db_.get();
}

std::optional<money> postgres_store::used(const budget_usage_query& query) {
    std::lock_guard lock(read_mutex_);
    pg_connection* db = reader();
    if (!db) return std::nullopt;
    auto used = pg_used(*db, query);
    if (!used) return std::nullopt;
    return money_sum::of_micros(*used).to_money();
}

std::optional<std::int64_t> postgres_store::prune(civil_date before) {
    std::string error;
    auto db = pg_connection::connect(options_.url, options_.connect_timeout_s, error);
    if (!db) return std::nullopt;
    return pg_prune(*db, before);
}

std::optional<bool> postgres_store::remember_alert(const std::string& key, unix_seconds at) {
    std::lock_guard lock(read_mutex_);
    pg_connection* db = reader();
    if (!db) return std::nullopt;
    auto rows = db->query("INSERT INTO creditgate_alerts_sent (key, sent_at) VALUES ($1, $2::bigint) ON CONFLICT (key) DO NOTHING RETURNING 1",
                          {key, std::to_string(at)});
    if (!rows) return std::nullopt;
    return rows->size() == 1;
}

std::optional<std::vector<usage_row>> postgres_store::usage(const usage_query& query) {
    std::lock_guard lock(read_mutex_);
    pg_connection* db = reader();
    if (!db) return std::nullopt;
    return pg_usage(*db, query);
}

std::optional<std::vector<instance_view>> postgres_store::instances() {
    std::lock_guard lock(read_mutex_);
    pg_connection* db = reader();
    if (!db) return std::nullopt;
    std::int64_t run;
    {
        std::lock_guard state(mutex_);
        run = run_;
    }
    return pg_instances(*db, run);
}

}  // namespace creditgate::policies
