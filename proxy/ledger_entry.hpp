#pragma once
// ledger_entry: one metered exchange's rows in the persistent ledger. begin() writes the
// pending row when the call is admitted; the finished row is written when the entry goes
// away — at the end of the exchange, or when its coroutine is destroyed at shutdown — from
// what the exchange record says by then. Both only queue rows: the store writes them later.
// A store that keeps nothing (storage "memory") gets no rows: building them was ~5% of a
// metered request's instructions, all thrown away.

#include "policies/store/ledger_store.hpp"
#include "proxy/exchange.hpp"

#include <chrono>

namespace creditgate::proxy {

class ledger_entry {
public:
    ledger_entry(policies::ledger_store& store, const exchange_record& record, policies::money estimate,
                 std::optional<policies::money> usd_per_unit)
        : store_(store), record_(record), estimate_(estimate), usd_per_unit_(usd_per_unit), keeps_rows_(store.persistent()),
          id_(keeps_rows_ ? store.next_id() : 0), admitted_at_(keeps_rows_ ? now_ms() : 0) {}
    ~ledger_entry() {
        if (!keeps_rows_) return;
        policies::call_row row = base();
        row.finished_at = now_ms();
        row.status = record_.status;
        row.decision = record_.decision.empty() ? "allowed" : record_.decision;
        row.actual = record_.cost.value_or(policies::money{});
        row.cost_usd = policies::settled_usd(row.actual, usd_per_unit_);
        row.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - record_.started).count();
        store_.append(std::move(row));
    }
    ledger_entry(const ledger_entry&) = delete;
    ledger_entry& operator=(const ledger_entry&) = delete;

    // The call was admitted: its reservation is on record until it finishes.
    void begin() {
        if (!keeps_rows_) return;
        policies::call_row row = base();
        row.cost_usd = policies::reserved_usd(estimate_, usd_per_unit_);
        store_.append(std::move(row));
    }

private:
    static policies::unix_millis now_ms() {
        return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
    policies::call_row base() const {
        policies::call_row row;
        row.id = id_;
        row.admitted_at = admitted_at_;
        row.request_id = record_.request_id;
        if (record_.client) {
            row.client = record_.client->id;
            row.team = record_.client->team;
        }
        row.vendor = record_.vendor;
        row.account = record_.account;
        row.method = record_.method;
        row.host = record_.host;
        row.path = record_.path;
        row.estimate = estimate_;
        return row;
    }

    policies::ledger_store& store_;
    const exchange_record& record_;
    policies::money estimate_;
    std::optional<policies::money> usd_per_unit_;
    bool keeps_rows_;
    std::int64_t id_;
    policies::unix_millis admitted_at_;
};

}  // namespace creditgate::proxy
