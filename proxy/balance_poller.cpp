#include "proxy/balance_poller.hpp"

#include "policies/balance_check.hpp"
#include "proxy/net/upstream_connector.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <spdlog/spdlog.h>

#include <charconv>

namespace creditgate::proxy {
namespace {

using clock = std::chrono::steady_clock;

struct fetched {
    unsigned status = 0;
    std::string body;
    std::optional<std::int64_t> retry_after_s;
    std::string error;  // transport failure
};

// One request on a fresh connection (polls are rare; they never take a pooled one a call could use).
task<fetched> fetch(asio::io_context& io, const runtime& rt, const policies::balance_request& request, bool tls) {
    fetched out;
    const dial_target target{request.host, std::uint16_t(tls ? 443 : 80), tls};
    auto dialed = co_await dial_upstream(io, rt.dialing(), target);
    if (dialed.failure) {
        out.error = dialed.failure->message;
        co_return out;
    }
    auto& conn = *dialed.connection;
    std::string head = request.method + " " + request.target + " HTTP/1.1\r\nHost: " + request.host +
                       "\r\nUser-Agent: creditgate\r\nAccept: application/json\r\nConnection: close\r\n";
    if (request.header) head += request.header->first + ": " + request.header->second + "\r\n";
    if (request.body) head += "Content-Type: application/json\r\nContent-Length: " + std::to_string(request.body->size()) + "\r\n";
    head += "\r\n";
    if (request.body) head += *request.body;

    // A vendor that does not answer in time is a failed poll, not a stuck loop.
    const auto timeout = seconds(std::min<std::int64_t>(rt.limits().upstream_response_s, 30));
    conn.stream.tcp().expires_after(timeout);
    auto [wec, written] = co_await asio::async_write(conn.stream, asio::buffer(head), use_nothrow);
    if (wec) {
        out.error = "sending the request: " + wec.message();
        co_return out;
    }
    http::response_parser<http::string_body> parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(1024 * 1024);
    conn.stream.tcp().expires_after(timeout);
    auto [rec, read] = co_await http::async_read(conn.stream, conn.buffer, parser, use_nothrow);
    if (rec && !(rec == asio::ssl::error::stream_truncated && parser.is_done())) {
        out.error = rec == beast::error::timeout ? "no answer within " + std::to_string(timeout.count()) + " s" : "reading the answer: " + rec.message();
        co_return out;
    }
    const auto& res = parser.get();
    out.status = res.result_int();
    out.body = res.body();
    if (auto it = res.find(http::field::retry_after); it != res.end()) {
        std::int64_t s = 0;
        const auto v = it->value();
        if (std::from_chars(v.data(), v.data() + v.size(), s).ec == std::errc{} && s > 0) out.retry_after_s = s;
    }
    co_return out;
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
        const fetched answer = co_await fetch(home_.io(), *rt, *request, tls);
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
