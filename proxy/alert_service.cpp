#include "proxy/alert_service.hpp"

#include "proxy/net/http_fetch.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

namespace creditgate::proxy {

alert_service::timings alert_service::default_timings() {
    timings t;
    // For tests only: a faster look and faster retries (CREDITGATE_ALERT_TICK_MS, ..._RETRY_MS).
    if (const char* tick = std::getenv("CREDITGATE_ALERT_TICK_MS")) t.tick = std::chrono::milliseconds(std::max(10, std::atoi(tick)));
    if (const char* retry = std::getenv("CREDITGATE_ALERT_RETRY_S")) t.first_retry = std::chrono::seconds(std::max(0, std::atoi(retry)));
    return t;
}

alert_service::alert_service(runtime_source current, metrics& counters)
    : current_(std::move(current)), counters_(counters), timings_(default_timings()) {}

alert_service::~alert_service() {
    io_.stop();
    if (thread_.joinable()) thread_.join();
}

void alert_service::start() {
    guard_.emplace(io_.get_executor());
    asio::co_spawn(io_, watch(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
}

task<void> alert_service::watch() {
    steady_timer timer(io_);
    for (;;) {
        timer.expires_after(timings_.tick);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        if (const auto rt = current_()) look(rt);
    }
}

void alert_service::look(const std::shared_ptr<const runtime>& current) {
    const runtime& rt = *current;
    auto& books = *rt.metering();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (auto& event : policies::detect_alerts(books.budgets(), books.accounts(), now)) {
        if (seen_.count(event.key)) continue;
        // The store says whether this event was sent before (a restart, a reload, another
        // instance of the fleet); if it cannot say now, the next look asks again.
        const auto fresh = rt.store().remember_alert(event.key, now);
        if (!fresh) continue;
        seen_.insert(event.key);
        if (!*fresh) continue;
        const std::string kind(policies::to_string(event.kind));
        spdlog::warn("alert {}: {}", kind, policies::alert_text(event));
        for (const auto& target : rt.cfg().alerts) {
            if (std::find(target.on.begin(), target.on.end(), event.kind) == target.on.end()) continue;
            std::string body = target.format == alert_format::slack ? policies::alert_slack_json(event) : policies::alert_json(event);
            asio::co_spawn(io_, deliver(current, &target, kind, std::move(body)), asio::detached);
        }
    }
}

task<void> alert_service::deliver(std::shared_ptr<const runtime> rt, const alert_config* target, std::string kind, std::string body) {
    // `rt` keeps `target` alive for as long as this delivery tries.
    dial_policy policy = rt->dialing();
    policy.allow_private = true;  // the operator's own receiver: the destination guard is for clients' calls
    policy.connect_timeout = timings_.timeout;
    fetch_request request;
    request.method = "POST";
    request.host = target->url.where.host;
    request.port = target->url.where.port;
    request.tls = target->url.https;
    request.target = target->url.origin_form;
    request.body = std::move(body);
    const auto started = std::chrono::steady_clock::now();
    auto wait = timings_.first_retry;
    steady_timer timer(io_);
    for (int attempt = 1;; ++attempt) {
        const fetch_result answer = co_await http_fetch(io_, policy, request, timings_.timeout);
        const bool ok = answer.error.empty() && answer.status >= 200 && answer.status < 300;
        counters_.alert_sent(kind, ok);
        if (ok) {
            if (attempt > 1) spdlog::info("alert {} to {} ({}): delivered at attempt {}", kind, target->name, target->described, attempt);
            co_return;
        }
        const std::string why = answer.error.empty() ? "HTTP " + std::to_string(answer.status) : answer.error;
        if (std::chrono::steady_clock::now() - started + wait > timings_.give_up_after) {
            spdlog::error("alert {} to {} ({}): given up after {} attempts: {}", kind, target->name, target->described, attempt, why);
            co_return;
        }
        spdlog::warn("alert {} to {} ({}): attempt {} failed: {}; again in {} s", kind, target->name, target->described, attempt, why,
                     wait.count());
        timer.expires_after(wait);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        wait = std::min(std::max(wait * 2, std::chrono::seconds(1)), timings_.longest_retry);
    }
}

}  // namespace creditgate::proxy
