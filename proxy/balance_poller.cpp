#include "proxy/balance_poller.hpp"

#include "policies/balance_check.hpp"
#include "proxy/net/http_fetch.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

namespace creditgate::proxy {
namespace {

using clock = std::chrono::steady_clock;

// One balance check as a request of its own (polls are rare; never a pooled connection).
fetch_request fetch_of(const policies::balance_request& r, bool tls) {
    fetch_request out;
    out.method = r.method;
    out.host = r.host;
    out.port = tls ? 443 : 80;
    out.tls = tls;
    out.target = r.target;
    if (r.header) out.headers.push_back(*r.header);
    out.body = r.body;
    return out;
}

}  // namespace

struct balance_poller::loop_state {
    bool stopped = false;
    steady_timer timer;
    explicit loop_state(asio::io_context& io) : timer(io) {}
};

void balance_poller::start(std::shared_ptr<const runtime> rt) {
    stop();
    const auto& cfg = rt->cfg();
    for (std::size_t i = 0; i < cfg.accounts.size(); ++i) {
        const auto& account = cfg.accounts[i];
        const auto* vendor = cfg.find_vendor(account.vendor);
        // An empty key (`${KEY:-}` unset) has nothing to ask the vendor with.
        if (!account.api_key || account.api_key->empty() || !vendor || !vendor->balance) continue;
        auto state = std::make_shared<loop_state>(home_.io());
        loops_.push_back(state);
        asio::co_spawn(home_.io(), poll_loop(rt, i, state), asio::detached);
    }
}

void balance_poller::stop() {
    for (auto& loop : loops_) {
        loop->stopped = true;
        loop->timer.cancel();
    }
    loops_.clear();
}

task<void> balance_poller::poll_loop(std::shared_ptr<const runtime> rt, std::size_t index, std::shared_ptr<loop_state> state) {
    const auto& account = rt->cfg().accounts[index];
    const auto& vendor = *rt->cfg().find_vendor(account.vendor);
    auto& books = *rt->metering();
    const auto ledger_index = books.account_index(policies::account_ref::named(account.id));
    if (!ledger_index) co_return;
    std::string error;
    const auto request = policies::make_balance_request(vendor, *account.api_key, account.params, error);
    if (!request) {
        spdlog::error("balance of account {}: {}", account.id, error);
        books.record_poll_error(*ledger_index, error);
        co_return;
    }
    const bool tls = vendor.upstream_tls != policies::upstream_tls_mode::never;
    const auto min_interval = std::chrono::seconds(vendor.balance->min_interval_s);
    const auto interval = std::max(std::chrono::seconds(account.poll_interval_s), min_interval);
    const auto longest_backoff = std::max(interval * 4, std::chrono::seconds(300));

    // A reload restarts the loop; the vendor still is not asked sooner than min_interval_s.
    if (auto it = last_poll_.find(account.id); it != last_poll_.end() && clock::now() < it->second + min_interval) {
        state->timer.expires_at(it->second + min_interval);
        co_await state->timer.async_wait(use_nothrow);
    }
    int failures = 0;
    std::string last_error;
    while (!state->stopped) {
        if (!rt->store().may_poll(account.id)) {
            // Another instance of the fleet polls this account; its readings come through the
            // shared store. Ask again soon: it may stop.
            state->timer.expires_after(std::min<clock::duration>(interval, std::chrono::seconds(2)));
            co_await state->timer.async_wait(use_nothrow);
            continue;
        }
        last_poll_[account.id] = clock::now();
        // A vendor that does not answer in time is a failed poll, not a stuck loop.
        const auto timeout = std::chrono::seconds(std::min<std::int64_t>(rt->limits().upstream_response_s, 30));
        const fetch_result answer = co_await http_fetch(home_.io(), rt->dialing(), fetch_of(*request, tls), timeout);
        if (state->stopped) co_return;
        policies::balance_answer reading;
        if (!answer.error.empty()) reading.error = answer.error;
        else reading = policies::read_balance(*vendor.balance, answer.status, answer.body);

        clock::duration next = interval;
        if (reading.remaining) {
            books.record_balance(*ledger_index, *reading.remaining, policies::balance_source::poll);
            books.record_poll_error(*ledger_index, std::nullopt);
            if (failures > 0) spdlog::info("balance of account {}: {} answers again", account.id, request->described);
            failures = 0;
            last_error.clear();
        } else {
            // The last good reading stays; the next try backs off: min_interval, then doubling.
            ++failures;
            next = std::min<clock::duration>(min_interval * (1LL << std::min(failures - 1, 16)), longest_backoff);
            if (answer.retry_after_s) next = std::max<clock::duration>(next, std::chrono::seconds(*answer.retry_after_s));
            books.record_poll_error(*ledger_index, reading.error);
            if (reading.error != last_error)
                spdlog::warn("balance of account {}: {}: {} (next try in {} s)", account.id, request->described, reading.error,
                             std::chrono::duration_cast<std::chrono::seconds>(next).count());
            last_error = reading.error;
        }
        state->timer.expires_after(next);
        co_await state->timer.async_wait(use_nothrow);
    }
}

}  // namespace creditgate::proxy
