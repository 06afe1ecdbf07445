#include "proxy/metered_call.hpp"

#include "policies/json_amount.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <boost/beast/core/string.hpp>

#include <zlib.h>

namespace creditgate::proxy {
namespace {

using policies::money;
using policies::percent_encode;

}  // namespace

policies::header_lookup lookup_in(const flat_fields& fields) {
    return [&fields](std::string_view name) -> std::optional<std::string_view> {
        auto it = fields.find(name);
        if (it == fields.end()) return std::nullopt;
        return it->value();
    };
}

call_plan plan_call(const runtime& rt, const policies::vendor_profile& vendor, const absolute_target& target,
                    const flat_fields& request_fields) {
    call_plan plan;
    const std::string_view origin = target.origin_form;
    if (auto q = origin.find('?'); q != std::string_view::npos) plan.query = policies::parse_query(origin.substr(q + 1));
    auto& metering = *rt.metering();
    const auto key = policies::find_api_key(vendor, plan.query, lookup_in(request_fields));
    if (key) {
        if (const auto* account = metering.account_for_key(vendor, *key)) plan.account = account->id;
        else if (rt.cfg().refuse_unregistered_keys)
            plan.refused = make_refusal(403, "unregistered_key", "this API key belongs to no account configured for " + vendor.name);
    } else if (const auto* account = metering.injecting_account(vendor)) {
        plan.account = account->id;
        plan.injected_key = account->api_key;
    }
    return plan;
}

std::string target_with_key(const absolute_target& target, const policies::vendor_profile& vendor, const call_plan& plan) {
    if (!plan.injected_key || vendor.auth.empty() || vendor.auth.front().where != policies::auth_source::kind::query)
        return target.origin_form;
    std::string out = target.origin_form;
    out += out.find('?') == std::string::npos ? '?' : '&';
    out += percent_encode(vendor.auth.front().name);
    out += '=';
    out += percent_encode(*plan.injected_key);
    return out;
}

refusal to_refusal(const policies::refusal_detail& d) {
    using policies::refusal_kind;
    unsigned status = 402;
    switch (d.kind) {
        case refusal_kind::budget_exhausted:
        case refusal_kind::upstream_credits_exhausted: status = 402; break;
        default: status = 429; break;
    }
    refusal r = make_refusal(status, std::string(policies::to_string(d.kind)), d.message);
    r.retry_after_s = d.retry_after_s;
    if (!d.budget.empty()) {
        r.details["budget"] = d.budget;
        // Amounts print as plain decimals: JSON numbers built from their exact text.
        r.details["limit"] = policies::amount_json(d.limit);
        r.details["used"] = policies::amount_json(d.used);
        r.details["frozen"] = policies::amount_json(d.frozen);
        r.details["remaining"] = policies::amount_json(d.remaining);
        r.details["cost"] = policies::amount_json(d.cost);
        if (!d.unit.empty()) r.details["unit"] = d.unit;
    } else if (d.kind == refusal_kind::upstream_credits_exhausted) {
        r.details["cost"] = policies::amount_json(d.cost);
    }
    return r;
}

task<admitted_call> admit_call(worker& w, policies::metering& metering, const policies::call_facts& facts) {
    // The ledger calls back on whatever thread made room; we hop to our own worker.
    struct wait_state {
        std::optional<policies::admission> late;
        std::optional<steady_timer> timer;  // only a call that queues waits
        bool waiting = true;
    };
    auto state = std::make_shared<wait_state>();
    auto executor = w.io().get_executor();
    admitted_call out;
    out.estimate = facts.estimate;
    out.decision = metering.admit(facts, [state, executor](policies::admission decided) {
        asio::post(executor, [state, decided = std::move(decided)]() mutable {
            // A waiter that is gone (shutdown) lets its reservation release itself here.
            if (!state->waiting) return;
            state->late = std::move(decided);
            if (state->timer) state->timer->cancel();
        });
    });
    using outcome = policies::admission::outcome;
    if (out.decision.result == outcome::queued) {
        const std::uint64_t ticket = out.decision.ticket;
        struct leave_queue {  // a coroutine destroyed while queued (shutdown) leaves the queue
            policies::metering& m;
            wait_state& s;
            std::uint64_t ticket;
            ~leave_queue() {
                if (s.waiting && !s.late) m.books().cancel_wait(ticket);
                s.waiting = false;
            }
        } guard{metering, *state, ticket};
        // Emplaced before this coroutine first yields: the admission callback, posted to this
        // same thread, cannot run before the timer exists.
        state->timer.emplace(w.io());
        state->timer->expires_after(std::chrono::milliseconds(out.decision.queue_timeout_ms));
        co_await state->timer->async_wait(use_nothrow);
        if (!state->late) {
            if (auto timeout = metering.books().cancel_wait(ticket)) {
                out.refused = to_refusal(*timeout);
                out.decision_name = "queue_timeout";
                co_return out;
            }
            // Admitted in the meantime: the decision is on its way to this thread.
            while (!state->late) {
                state->timer->expires_after(std::chrono::seconds(3600));
                co_await state->timer->async_wait(use_nothrow);
            }
        }
        out.decision = std::move(*state->late);
        out.decision_name = "queued_allowed";
    }
    if (out.decision.result == outcome::refused) {
        out.refused = to_refusal(*out.decision.refusal);
        out.decision_name = "rejected";
    } else if (out.decision.shadow_would_reject) {
        out.decision_name = "shadow_would_reject";
    }
    co_return out;
}

std::optional<std::string> inflate_for_inspection(std::string_view encoding, std::string_view bytes, std::size_t limit) {
    int window_bits;
    if (beast::iequals(encoding, "gzip") || beast::iequals(encoding, "x-gzip")) window_bits = 15 + 16;
    else if (beast::iequals(encoding, "deflate")) window_bits = 15 + 32;  // zlib or raw: let zlib detect the header
    else return std::nullopt;
    z_stream z{};
    if (inflateInit2(&z, window_bits) != Z_OK) return std::nullopt;
    std::string out;
    char buffer[16384];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    int rc = Z_OK;
    // One chunk past the limit at most: a bomb stops there, and is not complete.
    while (rc == Z_OK && out.size() <= limit) {
        z.next_out = reinterpret_cast<Bytef*>(buffer);
        z.avail_out = sizeof buffer;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - z.avail_out);
        if (rc == Z_BUF_ERROR) break;  // the input ended before the stream did
    }
    inflateEnd(&z);
    // Only a whole stream within the limit is the body: a truncated, corrupt or oversized one is not.
    if (rc != Z_STREAM_END || out.size() > limit) return std::nullopt;
    return out;
}

policies::settlement settle_call(policies::metering& metering, const policies::vendor_profile& vendor,
                                 admitted_call& call, std::optional<std::size_t> account, unsigned status,
                                 const flat_fields& response_fields, std::string_view inspected_body, bool body_complete) {
    nlohmann::json parsed;
    const bool wants_json = vendor.response.reads_body() && !inspected_body.empty() && body_complete;
    if (wants_json) parsed = nlohmann::json::parse(inspected_body, nullptr, false);
    policies::response_facts facts;
    facts.status = status;
    facts.header = lookup_in(response_fields);
    facts.body = inspected_body;
    facts.body_json = wants_json && !parsed.is_discarded() ? &parsed : nullptr;
    // A body that is whole but not JSON is still an answer (rule 4 sees no success flag in it);
    // one we could not read whole says nothing, and the call settles at its estimate.
    facts.body_complete = body_complete;
    const policies::balance_context balance{call.decision.balance_before, call.decision.balance_delta_eligible};
    policies::settlement s = policies::settle_cost(vendor, call.estimate, facts, balance);
    call.decision.held.commit(s.actual);
    if (account) {
        if (s.balance_reading) metering.books().record_balance(*account, *s.balance_reading, policies::balance_source::header);
        if (s.out_of_credit) metering.books().mark_exhausted(*account);
    }
    return s;
}

}  // namespace creditgate::proxy
