#pragma once
// postgres_store: the ledger and the budgets shared by a fleet of instances in one PostgreSQL
// database (SPEC §10). One thread of its own ("cg-pg") does all database work, so no request
// ever waits on it: every `flush_ms` it runs one exchange — a transaction that heartbeats,
// reports each shared budget's spend and returns, takes leases (creditgate_report), reclaims
// runs silent for ttl_s, and writes the rows appended since — and applies the answers to the
// books. A call its lease cannot cover wakes the thread for an exchange at once.
//
// While the database is unreachable the books admit within the leases they hold (for 2/3 of
// ttl_s after the last answer: by then the others may reclaim them) and rows wait in memory up
// to buffer_rows; past that the store is unhealthy and metered calls get 503. Reconnects back
// off from 100 ms to 5 s; each change of state is logged once.

#include "policies/store/ledger_store.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace creditgate::policies {

class pg_connection;
struct pg_exchange;

struct postgres_options {
    std::string url;       // libpq conninfo or URI; never logged
    std::string instance;  // storage.instance
    std::int64_t flush_ms = 100;
    std::size_t buffer_rows = 100'000;
    std::int64_t target_s = 10, ttl_s = 30;
    int connect_timeout_s = 5;
    std::function<void(const std::string&)> on_error = nullptr;   // state changes for the worse
    std::function<void(const std::string&)> on_notice = nullptr;  // and back
};

class postgres_store final : public ledger_store {
public:
    // Connects, migrates the schema and registers this run; null with `error` otherwise.
    static std::unique_ptr<postgres_store> open(const postgres_options& options, std::string& error);
    ~postgres_store() override;  // returns every lease, writes every row, leaves the fleet

    void append(call_row row) override;
    bool healthy() const override;
    bool flush() override;
    bool persistent() const override { return true; }
    std::optional<money> used(const budget_usage_query& query) override;
    std::optional<std::vector<usage_row>> usage(const usage_query& query) override;
    // On a connection of its own: reports and the exchange go on meanwhile.
    std::optional<std::int64_t> prune(civil_date before) override;
    std::optional<bool> remember_alert(const std::string& key, unix_seconds at) override;

    std::optional<fleet_options> fleet() override;
    std::uint32_t attach(std::weak_ptr<ledger> books) override;
    void detach(std::uint32_t holder, lease_work last) override;

    std::optional<std::vector<instance_view>> instances() override;
    std::optional<lease_counts> lease_requests() const override;
    bool may_poll(const std::string& id) override;

private:
    explicit postgres_store(postgres_options options);
    void loop();
    bool ensure_connected();
    bool register_run(std::string& error);
    // One exchange, phase by phase (postgres_exchange.cpp).
    struct exchange_batch {
        bool urgent = false;
        std::vector<std::pair<std::shared_ptr<ledger>, lease_work>> works;
        std::vector<lease_work> finals;     // of books that went
        std::vector<call_row> rows;
        std::vector<std::int64_t> sent_at;  // steady ns by each books' own clock
    };
    enum class beat { alive, reclaimed, failed };
    void run_exchange(bool urgent);
    exchange_batch take_batch(bool urgent);
    void fail(exchange_batch& batch, std::string why);
    beat heartbeat(pg_connection& db);
    void rejoin(exchange_batch& batch);
    std::optional<int> live_instances(pg_connection& db, bool urgent);
    std::optional<std::vector<lease_answer>> send_batch(pg_connection& db, const exchange_batch& batch, int instances);
    void apply_answers(exchange_batch& batch, const std::vector<lease_answer>& answers);
    void claim_polls();
    void lost_connection(const std::string& why);
    void wake_urgent();
    pg_connection* reader();  // the report connection, (re)connected on demand; under read_mutex_

    postgres_options options_;
    std::unique_ptr<pg_connection> db_;       // the thread's (and open()'s before it starts)
    std::unique_ptr<pg_connection> read_db_;  // reports; connected on demand
    std::mutex read_mutex_;
    std::int64_t run_ = 0;
    std::chrono::steady_clock::time_point next_reclaim_{}, next_connect_{};
    std::chrono::steady_clock::time_point retry_at_ = std::chrono::steady_clock::time_point::max();  // calls still wait
    std::chrono::milliseconds backoff_{100};
    bool online_ = true;  // the last exchange worked (for logging state changes once)

    mutable std::mutex mutex_;
    std::condition_variable wake_, done_cv_;
    std::vector<call_row> rows_;          // appended, not yet sent
    std::size_t in_flight_rows_ = 0;      // taken by the exchange running now
    std::vector<std::pair<std::uint32_t, std::weak_ptr<ledger>>> books_;
    std::vector<lease_work> last_works_;  // of books that went: sent at the next exchange
    std::uint32_t next_holder_ = 1;
    std::uint64_t exchanges_done_ = 0;
    bool urgent_ = false, flush_wanted_ = false, stopping_ = false, last_ok_ = true;
    lease_counts counts_;
    // Vendor accounts this instance would poll, and those whose advisory lock its connection holds.
    std::set<std::string> poll_wanted_, poll_owned_;
    std::thread thread_;
};

}  // namespace creditgate::policies
