#include "policies/store/postgres_store.hpp"

#include "policies/ledger.hpp"
#include "policies/store/pg_connection.hpp"
#include "policies/store/pg_queries.hpp"
#include "policies/store/pg_schema.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>

namespace creditgate::policies {
namespace {

using clock = std::chrono::steady_clock;

std::string host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "unknown";
    return name;
}

}  // namespace

postgres_store::postgres_store(postgres_options options) : options_(std::move(options)) {}

std::unique_ptr<postgres_store> postgres_store::open(const postgres_options& options, std::string& error) {
    std::unique_ptr<postgres_store> store(new postgres_store(options));
    store->db_ = pg_connection::connect(options.url, options.connect_timeout_s, error);
    if (!store->db_) {
        error = "storage.url: cannot connect to PostgreSQL: " + error;
        return nullptr;
    }
    if (!migrate_pg_schema(*store->db_, error) || !store->register_run(error)) {
        error = store->db_->describe() + ": " + error;
        return nullptr;
    }
    store->thread_ = std::thread([s = store.get()] { s->loop(); });
    return store;
}

bool postgres_store::register_run(std::string& error) {
    // A run of the same name still registered is this instance's previous process when it has
    // been silent for ttl_s, or ran on this host and is gone (killed and restarted): what it held
    // goes back now. Otherwise a live process has the name, and two holders sharing one name
    // would reclaim each other in turn: refuse to start.
    const std::string host = host_name();
    auto same = db_->query("SELECT run, host, pid, extract(epoch FROM clock_timestamp() - heartbeat_at)::float8"
                           " FROM creditgate_instances WHERE name = $1",
                           {options_.instance});
    if (!same) {
        error = "cannot register this instance: " + db_->error();
        return false;
    }
    for (int i = 0; i < same->size(); ++i) {
        const double age = std::strtod(std::string(same->text(i, 3)).c_str(), nullptr);
        const pid_t pid = static_cast<pid_t>(same->int64(i, 2));
        const bool here = same->text(i, 1) == host;
        const bool gone = age >= static_cast<double>(options_.ttl_s) ||
                          (here && (pid == ::getpid() || (::kill(pid, 0) != 0 && errno == ESRCH)));
        if (!gone) {
            error = "storage.instance \"" + options_.instance + "\" is in use by a live instance (host " + std::string(same->text(i, 1)) +
                    ", pid " + std::to_string(pid) + ", heartbeat " + std::to_string(static_cast<int>(age)) +
                    " s ago): give each instance its own name";
            return false;
        }
        if (!db_->query("SELECT creditgate_reclaim($1)", {std::string(same->text(i, 0))})) {
            error = "cannot register this instance: " + db_->error();
            return false;
        }
    }
    auto run = db_->query("INSERT INTO creditgate_instances (run, name, host, pid) VALUES (nextval('creditgate_runs'), $1, $2, $3)"
                                     " RETURNING run",
                          {options_.instance, host, std::to_string(::getpid())});
    if (!run || run->size() != 1) {
        error = "cannot register this instance: " + db_->error();
        return false;
    }
    const std::int64_t id = run->int64(0, 0);
    {
        std::lock_guard lock(mutex_);  // instances() reads it from a report thread
        run_ = id;
    }
    // Row ids: the run in the high half, a counter in the low one; unique across the fleet.
    next_id_.store((id << 32) + 1, std::memory_order_relaxed);
    return true;
}

postgres_store::~postgres_store() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void postgres_store::append(call_row row) {
    std::lock_guard lock(mutex_);
    rows_.push_back(std::move(row));
}

bool postgres_store::healthy() const {
    std::lock_guard lock(mutex_);
    return rows_.size() + in_flight_rows_ < options_.buffer_rows;
}

bool postgres_store::flush() {
    std::unique_lock lock(mutex_);
    const std::uint64_t after = exchanges_done_ + 1;  // the one running now may have started before the rows came
    flush_wanted_ = true;
    wake_.notify_all();
    done_cv_.wait_for(lock, std::chrono::seconds(10), [&] {
        return (exchanges_done_ > after && rows_.empty() && in_flight_rows_ == 0) || !last_ok_ || stopping_;
    });
    return rows_.empty() && in_flight_rows_ == 0;
}

std::optional<fleet_options> postgres_store::fleet() {
    fleet_options f;
    f.target_s = options_.target_s;
    f.ttl_s = options_.ttl_s;
    f.lease_wait_ms = std::max<std::int64_t>(1000, options_.ttl_s * 1000 / 3);
    f.wake = [this] { wake_urgent(); };
    return f;
}

void postgres_store::wake_urgent() {
    {
        std::lock_guard lock(mutex_);
        urgent_ = true;
    }
    wake_.notify_all();
}

std::uint32_t postgres_store::attach(std::weak_ptr<ledger> books) {
    std::lock_guard lock(mutex_);
    const std::uint32_t holder = next_holder_++;
    books_.emplace_back(holder, std::move(books));
    return holder;
}

void postgres_store::detach(std::uint32_t holder, lease_work last) {
    {
        std::lock_guard lock(mutex_);
        std::erase_if(books_, [&](const auto& b) { return b.first == holder; });
        if (!last.reports.empty()) last_works_.push_back(std::move(last));
    }
    wake_.notify_all();
}

std::optional<lease_counts> postgres_store::lease_requests() const {
    std::lock_guard lock(mutex_);
    return counts_;
}

bool postgres_store::may_poll(const std::string& id) {
    std::lock_guard lock(mutex_);
    poll_wanted_.insert(id);
    return poll_owned_.count(id) > 0;
}

void postgres_store::claim_polls() {
    // Session-level advisory locks, outside any transaction: held while this connection lives,
    // released by PostgreSQL when it drops (a crash, a partition), so that another instance's
    // next exchange takes the account over.
    std::vector<std::string> wanted;
    {
        std::lock_guard lock(mutex_);
        for (const auto& id : poll_wanted_)
            if (!poll_owned_.count(id)) wanted.push_back(id);
    }
    for (const auto& id : wanted) {
        auto got = db_->query("SELECT pg_try_advisory_lock(hashtext('creditgate_account:' || $1))", {id});
        if (!got) return;
        if (got->text(0, 0) == "t") {
            std::lock_guard lock(mutex_);
            poll_owned_.insert(id);
        }
    }
}

void postgres_store::loop() {
    pthread_setname_np(pthread_self(), "cg-pg");
    auto next_regular = clock::now();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        wake_.wait_until(lock, std::min(next_regular, retry_at_),
                         [&] { return urgent_ || flush_wanted_ || stopping_ || !last_works_.empty(); });
        if (stopping_) break;
        if (clock::now() >= retry_at_) {
            retry_at_ = clock::time_point::max();
            urgent_ = true;
        }
        const bool regular = clock::now() >= next_regular || flush_wanted_ || !last_works_.empty();
        urgent_ = false;
        flush_wanted_ = false;
        lock.unlock();
        run_exchange(!regular);
        lock.lock();
        if (regular) next_regular = clock::now() + std::chrono::milliseconds(options_.flush_ms);
    }
    lock.unlock();
    // A graceful stop: every lease back, every row written, then this run leaves the fleet. A
    // database that does not answer within a few tries loses the rows still buffered (logged).
    for (int attempt = 0; attempt < 10; ++attempt) {
        run_exchange(false);
        {
            std::lock_guard guard(mutex_);
            if (last_ok_ && rows_.empty() && last_works_.empty()) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(300));  // about 3 s in all, within the drain's grace
    }
    std::lock_guard guard(mutex_);
    if (!rows_.empty() && options_.on_error)
        options_.on_error("stopping without the database: " + std::to_string(rows_.size()) + " ledger rows were not written");
    if (db_ && last_ok_) db_->query("SELECT creditgate_reclaim($1)", {std::to_string(run_)});
}

bool postgres_store::ensure_connected() {
    if (db_ && db_->ok()) return true;
    if (db_) {
        db_.reset();
        std::lock_guard lock(mutex_);
        poll_owned_.clear();  // the advisory locks went with the connection
    }
    const auto now = clock::now();
    if (now < next_connect_) return false;
    std::string error;
    db_ = pg_connection::connect(options_.url, options_.connect_timeout_s, error);
    if (!db_) {
        next_connect_ = now + backoff_;
        backoff_ = std::min<std::chrono::milliseconds>(backoff_ * 2, std::chrono::seconds(5));
        lost_connection(error);
        return false;
    }
    backoff_ = std::chrono::milliseconds(100);
    return true;
}

void postgres_store::lost_connection(const std::string& why) {
    if (online_ && options_.on_error)
        options_.on_error("the fleet's database is unreachable (" + why + "); admitting only within held leases, buffering rows");
    online_ = false;
}

}  // namespace creditgate::policies
