#pragma once
// ledger_store: where the ledger's rows go (SPEC §7) and the queries that read them back —
// a budget's used amount for a window (at start and reload) and usage reports. append() never
// blocks on I/O: it queues the row for a writer that works off the request path. SQLite is the
// embedded default; "memory" keeps nothing; a shared store (PostgreSQL) can follow behind the
// same interface.

#include "policies/budget.hpp"
#include "policies/lease.hpp"
#include "policies/period.hpp"
#include "policies/store/call_row.hpp"

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

class ledger;

// The rows one budget counts: its vendor ("*" for any), scope and window. `in_usd` sums the
// dollar column (money budgets), otherwise the vendor's unit. Finished rows count at their
// actual, pending rows at what they reserved.
struct budget_usage_query {
    std::string vendor;
    budget_scope scope;
    period_window window;
    bool in_usd = false;
};

enum class usage_group { client, team, vendor, account, day, hour };

struct usage_query {
    civil_date from, to;  // inclusive, UTC days
    std::vector<usage_group> group_by;
    std::optional<std::string> client, team, vendor;
};

struct usage_row {
    std::vector<std::string> keys;  // one per group_by entry, in its order
    std::int64_t requests = 0, succeeded = 0, failed = 0, rejected = 0;
    money credits, cost_usd;
    double avg_latency_ms = 0;  // over calls that were forwarded
    // Which vendors the row spans: their number and one of them. One vendor: its unit; more:
    // "mixed", and credits mean nothing (SPEC §8). `unit` is filled by assign_units.
    std::int64_t vendors = 0;
    std::string vendor;
    std::string unit;
};

// One instance of the fleet, as /api/v1/instances shows it.
struct instance_view {
    std::string name;
    std::int64_t started_at = 0;  // Unix seconds
    double heartbeat_age_s = 0;
    std::vector<std::pair<std::string, money>> leases;  // budget id, what it holds (units, slots or tokens)
    bool self = false;
};

// Lease requests the central rows answered (creditgate_lease_requests_total{result}).
struct lease_counts {
    std::uint64_t granted = 0, denied = 0, failed = 0;
    std::uint64_t exchanges = 0;  // transactions with the central rows that committed
};

class ledger_store {
public:
    virtual ~ledger_store() = default;

    // A fresh row id, unique across runs of this store.
    std::int64_t next_id() { return next_id_.fetch_add(1, std::memory_order_relaxed); }

    // Queues a row (pending or finished) for writing. Never blocks on I/O.
    virtual void append(call_row row) = 0;
    // False once a write failed, until one succeeds again (storage.on_failure decides).
    virtual bool healthy() const = 0;
    // Writes out everything appended so far; returns false when that failed.
    virtual bool flush() = 0;
    // Whether rows outlive the process (reports and used-recompute read them back).
    virtual bool persistent() const = 0;

    // nullopt when the store cannot be read.
    virtual std::optional<money> used(const budget_usage_query& query) = 0;
    virtual std::optional<std::vector<usage_row>> usage(const usage_query& query) = 0;
    // The retention pass (SPEC §7): deletes finished rows admitted before the UTC day `before`,
    // after recording that day so that used() takes the days before it from the roll-up. The
    // number of rows deleted; nullopt when it failed or this store keeps no rows.
    virtual std::optional<std::int64_t> prune(civil_date /*before*/) { return std::nullopt; }
    // Alerts are sent once per key (SPEC §12), also across reloads and restarts — and, with a
    // shared store, across the fleet: true the first time a key is remembered, false after;
    // nullopt when the store cannot say (the alert waits for the next look).
    virtual std::optional<bool> remember_alert(const std::string& key, unix_seconds at) = 0;

    // ---- a store shared by a fleet (SPEC §10); the others keep the defaults ----
    // How the books lease their budgets through this store; nullopt: they keep their own limits.
    virtual std::optional<fleet_options> fleet() { return std::nullopt; }
    // Books that lease through this store (a reload makes new ones): their holder number.
    virtual std::uint32_t attach(std::weak_ptr<ledger>) { return 0; }
    // The books are going: `last` returns everything they held.
    virtual void detach(std::uint32_t /*holder*/, lease_work /*last*/) {}
    // The fleet's instances; nullopt when this store has no fleet (or cannot be read).
    virtual std::optional<std::vector<instance_view>> instances() { return std::nullopt; }
    virtual std::optional<lease_counts> lease_requests() const { return std::nullopt; }
    // Whether this instance polls the vendor account `id` (SPEC §10: one instance per account;
    // the others read its readings from the store). Asking also says that this instance would.
    virtual bool may_poll(const std::string& /*id*/) { return true; }

protected:
    std::atomic<std::int64_t> next_id_{1};
};

// storage.kind "memory": ids and nothing else.
class memory_store final : public ledger_store {
public:
    void append(call_row) override {}
    bool healthy() const override { return true; }
    bool flush() override { return true; }
    bool persistent() const override { return false; }
    std::optional<money> used(const budget_usage_query&) override { return money{}; }
    std::optional<std::vector<usage_row>> usage(const usage_query&) override { return std::vector<usage_row>{}; }
    std::optional<bool> remember_alert(const std::string& key, unix_seconds) override {
        std::lock_guard lock(alerts_mutex_);
        return alerts_.insert(key).second;  // this process's life only: nothing is kept
    }

private:
    std::mutex alerts_mutex_;
    std::set<std::string> alerts_;
};

std::string_view to_string(usage_group group);
std::optional<usage_group> parse_usage_group(std::string_view name);

}  // namespace creditgate::policies
