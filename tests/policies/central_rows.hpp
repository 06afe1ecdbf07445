#pragma once
// central_rows: the fleet's central budget rows (SPEC §10) in memory, for unit tests of the
// books' side of leases without a database. It follows the rules postgres_store's SQL applies
// (see policies/store/pg_exchange.cpp): cumulative reports count once, a take is one guarded
// step (used + leased + min <= limit), a final report drops the holder's row.
#include "policies/lease.hpp"

#include <algorithm>
#include <map>
#include <mutex>
#include <tuple>

namespace creditgate::test {

using namespace creditgate::policies;

class central_rows {
public:
    struct holder_row {
        lease_amount granted = 0, spent = 0, returned = 0, frozen = 0;
        lease_amount held() const { return std::max<lease_amount>(0, granted - spent - returned); }
    };
    struct row {
        lease_amount limit = 0, used = 0, leased = 0, tokens = 0;
        std::map<std::uint32_t, holder_row> holders;
    };

    explicit central_rows(int instances) : instances_(instances) {}

    lease_answer exchange(const lease_work& work) {
        std::lock_guard lock(mutex_);
        lease_answer answer;
        answer.instances = instances_;
        for (const lease_report& r : work.reports) {
            row& c = rows_[{r.key, r.window.start}];
            if (c.limit == 0) {
                c.limit = r.limit;
                if (r.kind == budget_kind::rate) c.tokens = r.limit;
            }
            holder_row& h = c.holders[work.holder];
            const lease_amount held_before = h.held();
            const lease_amount d_spent = std::max<lease_amount>(0, r.spent - h.spent);
            const lease_amount d_returned = std::max<lease_amount>(0, r.returned - h.returned);
            h.spent += d_spent;
            h.returned += d_returned;
            h.frozen = r.frozen;
            const bool metered = r.kind == budget_kind::credits || r.kind == budget_kind::money;
            if (metered) c.used += d_spent;
            // leased is the sum of what each holder still holds (never below 0: a holder whose
            // calls cost more than they reserved holds nothing, and owes nothing to the others).
            if (r.leases) c.leased += h.held() - held_before;
            if (r.kind == budget_kind::rate) c.tokens = std::min(c.limit, c.tokens + d_returned);
            lease_reply reply;
            reply.budget = r.budget;
            reply.window = r.window;
            if (r.ask_min > 0 && !r.final) {
                reply.asked = true;
                const lease_amount free = r.kind == budget_kind::rate ? c.tokens : c.limit - c.used - c.leased;
                const lease_amount fair = free / (2 * instances_);
                const lease_amount grant = std::min({free, r.ask_want, std::max(r.ask_min, fair)});
                if (grant >= r.ask_min && grant > 0) {
                    const lease_amount before = h.held();
                    h.granted += grant;
                    c.leased += h.held() - before;
                    if (r.kind == budget_kind::rate) c.tokens -= grant;
                    reply.grant = grant;
                } else {
                    lease_amount others_frozen = 0;
                    for (const auto& [id, other] : c.holders)
                        if (id != work.holder) others_frozen += other.frozen;
                    const lease_amount used = r.kind == budget_kind::concurrency ? 0 : c.used;
                    reply.denied = r.kind == budget_kind::rate ||
                                   c.limit - used - others_frozen - r.frozen < std::max<lease_amount>(r.claim_least, 1);
                }
            }
            reply.view = view_of(c, work.holder);
            if (r.final) {
                c.leased -= h.held();
                c.holders.erase(work.holder);
            }
            answer.replies.push_back(reply);
        }
        return answer;
    }

    row get(const std::string& key, unix_seconds start) {
        std::lock_guard lock(mutex_);
        return rows_[{key, start}];
    }

private:
    static central_view view_of(const row& c, std::uint32_t holder) {
        central_view v;
        v.known = true;
        v.limit = c.limit;
        v.used = c.used;
        v.leased = c.leased;
        v.tokens = c.tokens;
        for (const auto& [id, h] : c.holders) {
            if (id == holder) v.granted = h.granted;
            else v.others_frozen += h.frozen;
        }
        return v;
    }

    std::mutex mutex_;
    int instances_;
    std::map<std::tuple<std::string, unix_seconds>, row> rows_;
};

}  // namespace creditgate::test
