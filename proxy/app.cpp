#include "proxy/app.hpp"

#include "proxy/net/listener.hpp"

#include "proxy/admin/admin_server.hpp"
#include "proxy/admin/admin_views.hpp"
#include "proxy/exchange/session.hpp"
#include "proxy/logging.hpp"

#include "certs/ca.hpp"
#include "policies/store/retention.hpp"

#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>

#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <thread>

namespace creditgate::proxy {
namespace {

std::string random_prefix() {
    unsigned char bytes[4];
    if (RAND_bytes(bytes, sizeof bytes) != 1) std::fill(std::begin(bytes), std::end(bytes), 0);
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char b : bytes) {
        out += digits[b >> 4];
        out += digits[b & 0xf];
    }
    return out;
}

void log_exception(std::exception_ptr e) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("connection ended by an unexpected error: {}", ex.what());
    }
}

}  // namespace

app::app(config cfg) : initial_(std::move(cfg)) {
    state_.id_prefix = random_prefix();
    state_.counters = &counters_;
}

app::~app() { release_io_objects(); }

void app::release_io_objects() {
    if (reports_) {
        reports_->stop();
        reports_->join();
    }
    alerts_.reset();  // its thread reads the books: stopped before they go
    // What lives on worker 0's context goes before the context does.
    poller_.reset();
    grace_timer_.reset();
    retention_timer_.reset();
    signals_.reset();
    admin_acceptor_.reset();
    proxy_acceptor_.reset();
    // Exchanges still in the contexts are destroyed with their worker (their reservations release
    // themselves); none of them may signal "drained" to a worker that is already gone.
    state_.on_drained = nullptr;
    // A hash in progress posts its answer to a worker's context: it must finish while they exist.
    state_.verifier = nullptr;
    verifier_.reset();
    workers_.clear();
}

bool app::bind(const endpoint& where, tcp_acceptor& acceptor, std::string_view what) {
    error_code ec;
    tcp_resolver resolver(acceptor.get_executor());
    auto results = resolver.resolve(where.host, std::to_string(where.port), tcp_resolver::passive, ec);
    if (ec || results.empty()) {
        spdlog::critical("cannot resolve {} address {}: {}", what, where.to_string(), ec.message());
        return false;
    }
    const tcp::endpoint ep = results.begin()->endpoint();
    acceptor.open(ep.protocol(), ec);
    if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor.bind(ep, ec);
    if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
        spdlog::critical("cannot listen on {} ({}): {}", where.to_string(), what, ec.message());
        return false;
    }
    return true;
}

task<void> app::accept_loop() {
    // A connection lives on the worker it is accepted for; accepting stays on worker 0.
    std::size_t next = 0;
    worker* target = nullptr;
    co_await accept_connections(
        *proxy_acceptor_, "proxy",
        [&]() -> asio::io_context& {
            target = workers_[next++ % workers_.size()].get();
            return target->io();
        },
        [&](tcp_socket socket) { asio::co_spawn(target->io(), serve_client(*target, std::move(socket)), log_exception); });
}

// What each admin route reads, always from the current runtime (a reload swaps it).
admin_hooks app::admin_hooks_of() {
    return admin_hooks{
        [this](std::string_view token) { return authenticate(token); },
        [this] { return reload(); },
        [this](const admin_caller& c) { return policies::dump_exact(budgets_json(*snapshot()->metering(), scope_of(c))); },
        [this] { return policies::dump_exact(accounts_json(*snapshot()->metering())); },
        [this](const admin_caller& c) { return policies::dump_exact(reservations_json(*snapshot()->metering(), scope_of(c))); },
        [this](std::string_view id) { return snapshot()->metering()->reset_account(id); },
        [this] { return counters_.render(*snapshot()->metering()) + lease_metrics(snapshot()->store()); },
        [this](std::string_view query, const admin_caller& c) {
            const auto current = snapshot();
            return usage_response(current->store(), query, units_of(current->cfg()), scope_of(c));
        },
        [this] { return instances_response(snapshot()->store(), self_); },
        [this] { return ca_certificate(); },
        [this](std::string_view body) {
            const auto current = snapshot();
            return estimate_response(*current->metering(), current->routes(), team_lookup(current->cfg()), body);
        },
    };
}

// The one stdout line of SPEC §2 (real ports, also for port 0), and the same in the log.
void app::announce(unsigned threads) {
    const auto proxy_ep = proxy_acceptor_->local_endpoint();
    const auto admin_ep = admin_acceptor_->local_endpoint();
    auto show = [](const tcp::endpoint& ep) {
        const std::string host = ep.address().to_string();
        return (ep.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(ep.port());
    };
    std::printf("creditgate listening proxy=%s admin=%s\n", show(proxy_ep).c_str(), show(admin_ep).c_str());
    std::fflush(stdout);
    spdlog::info("listening proxy={} admin={} threads={} vendors={} clients={}", show(proxy_ep), show(admin_ep),
                 threads, initial_.vendors.size(), initial_.clients.size());
}

int app::run() {
    std::string error;
    auto store = open_ledger_store(initial_, error);
    if (!store) {
        spdlog::critical("{}", error);
        return 1;
    }
    current_ = runtime::create(initial_, std::move(store), error);
    if (!current_) {
        spdlog::critical("{}", error);
        return 1;
    }
    const unsigned threads = initial_.threads != 0 ? initial_.threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < threads; ++i) workers_.push_back(std::make_unique<worker>(i, current_, state_));
    // Created even without hashed secrets today: a reload may bring some. Idle, it is one thread.
    verifier_ = std::make_unique<secret_verifier>(std::max(1u, std::thread::hardware_concurrency() / 2));
    state_.verifier = verifier_.get();
    asio::io_context& main_io = workers_[0]->io();

    proxy_acceptor_.emplace(main_io);
    admin_acceptor_.emplace(main_io);
    if (!bind(initial_.listen, *proxy_acceptor_, "proxy") || !bind(initial_.admin_listen, *admin_acceptor_, "admin"))
        return 1;

    self_.name = instance_name(initial_, proxy_acceptor_->local_endpoint().port());
    self_.started_at = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    self_.self = true;
    admin_ = std::make_unique<admin_routes>(admin_hooks_of());

    state_.on_drained = [this] { asio::post(workers_[0]->io(), [this] { stop_all(); }); };
    signals_.emplace(main_io, SIGINT, SIGTERM, SIGHUP);
    signals_->add(SIGUSR1);
    wait_for_signal();

    asio::co_spawn(main_io, accept_loop(), log_exception);
    reports_.emplace(1);
    asio::co_spawn(main_io, run_admin_server(*admin_acceptor_, *admin_, reports_->get_executor()), log_exception);
    for (auto& w : workers_) w->start_housekeeping();
    retention_timer_.emplace(main_io);
    schedule_retention(std::chrono::minutes(1));  // not at once: a start has enough to do
    poller_ = std::make_unique<balance_poller>(*workers_[0]);
    poller_->start(current_);
    alerts_ = std::make_unique<alert_service>([this] { return snapshot(); }, counters_);
    alerts_->start();

    announce(threads);

    {
        // The guards keep idle loops running until stop_all(). They go with this block, before
        // release_io_objects() destroys the workers: a guard outliving its io_context writes
        // into freed memory when it lets go (AddressSanitizer caught it at every shutdown).
        std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
        for (auto& w : workers_) guards.push_back(asio::make_work_guard(w->io()));
        std::vector<std::thread> pool;
        for (std::size_t i = 1; i < workers_.size(); ++i) pool.emplace_back([&w = *workers_[i]] { w.run(); });
        workers_[0]->run();
        for (auto& t : pool) t.join();
    }
    // Exchanges cut short by the stop write their finished rows as their frames go.
    release_io_objects();
    const bool flushed = current_->store().flush();
    if (!flushed) spdlog::error("the ledger could not be written at shutdown");
    spdlog::info("stopped");
    spdlog::default_logger()->flush();
    return 0;
}

void app::schedule_retention(std::chrono::seconds after) {
    retention_timer_->expires_after(after);
    retention_timer_->async_wait([this](error_code ec) {
        if (ec) return;
        // On the reports pool: deleting a few million rows takes seconds, never a worker's.
        asio::post(reports_->get_executor(), [current = snapshot()] {
            const auto& cfg = current->cfg();
            const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
            const auto plan = policies::plan_retention(utc_today(), cfg.storage.retention_days, std::nullopt, cfg.budgets, now);
            if (!plan.before || !current->store().persistent()) return;
            const auto deleted = current->store().prune(*plan.before);
            if (!deleted) spdlog::warn("retention: the pass over {} failed; it runs again in a day", plan.note);
            else if (*deleted > 0) spdlog::info("retention: deleted {} finished rows ({}); their days stay in the roll-up", *deleted, plan.note);
        });
        schedule_retention(std::chrono::hours(24));
    });
}

std::optional<admin_caller> app::authenticate(std::string_view presented) {
    const auto current = snapshot();
    std::optional<admin_caller> found;
    // Every token is compared, so that the time taken says nothing about which one matched.
    for (const auto& t : current->cfg().admin_tokens) {
        if (!same_token(presented, t.token) || found) continue;
        found = admin_caller{t.name, t.role == admin_role::viewer ? std::optional<std::string>(t.team) : std::nullopt};
    }
    return found;
}

view_scope app::scope_of(const admin_caller& caller) {
    view_scope scope;
    if (caller.admin()) return scope;
    scope.team = caller.team;
    for (const auto& c : snapshot()->cfg().clients)
        if (c.team == *caller.team) scope.clients.push_back(c.id);
    return scope;
}

std::string app::ca_certificate() {
    const auto current = snapshot();
    if (!current->cfg().tls.mitm) return {};
    std::string pem;
    if (!policies::read_text_file((std::filesystem::path(current->cfg().tls.ca_dir) / certs::ca_cert_name).string(), pem)) return {};
    return pem;
}

std::shared_ptr<const runtime> app::snapshot() {
    std::lock_guard lock(reload_mutex_);
    return current_;
}

void app::wait_for_signal() {
    signals_->async_wait([this](error_code ec, int signo) {
        if (ec) return;
        if (signo == SIGHUP) {
            reload();
        } else if (signo == SIGUSR1) {
            std::string error;
            if (reopen_log_file(error)) spdlog::info("log file reopened (SIGUSR1)");
            else spdlog::error("{}", error);
        } else if (state_.draining.load()) {
            spdlog::warn("second stop signal: stopping now");
            stop_all();
            return;
        } else {
            begin_shutdown();
        }
        wait_for_signal();
    });
}

void app::begin_shutdown() {
    if (state_.draining.exchange(true)) return;
    const auto grace = std::chrono::seconds(current_->limits().shutdown_grace_s);
    spdlog::info("draining: {} exchanges in flight, up to {} s", state_.in_flight.load(), grace.count());
    error_code ignored;
    proxy_acceptor_->close(ignored);
    if (state_.in_flight.load() == 0) {
        stop_all();
        return;
    }
    grace_timer_.emplace(workers_[0]->io());
    grace_timer_->expires_after(grace);
    grace_timer_->async_wait([this](error_code ec) {
        if (ec) return;
        spdlog::warn("shutdown grace over with {} exchanges in flight: closing them", state_.in_flight.load());
        stop_all();
    });
}

void app::stop_all() {
    error_code ignored;
    if (proxy_acceptor_) proxy_acceptor_->close(ignored);
    if (admin_acceptor_) admin_acceptor_->close(ignored);
    if (signals_) signals_->cancel(ignored);
    for (auto& w : workers_) w->io().stop();
}

std::vector<std::string> app::reload() {
    std::lock_guard lock(reload_mutex_);
    auto result = load_config(initial_.file, policies::process_environment());
    if (!result.value) {
        auto errors = result.issues.formatted();
        for (const auto& e : errors) spdlog::error("reload refused: {}", e);
        return errors;
    }
    std::string error;
    auto next = runtime::create(std::move(*result.value), current_->shared_store(), error, current_);
    if (!next) {
        spdlog::error("reload refused: {}", error);
        return {error};
    }
    if (next->cfg().listen.to_string() != current_->cfg().listen.to_string() ||
        next->cfg().admin_listen.to_string() != current_->cfg().admin_listen.to_string())
        spdlog::warn("reload: listen addresses change only with a restart");
    if (next->cfg().storage.kind != current_->cfg().storage.kind || next->cfg().state_dir != current_->cfg().state_dir)
        spdlog::warn("reload: storage and state_dir change only with a restart");
    const bool new_books = next->metering() != current_->metering();
    current_ = next;
    for (auto& w : workers_) asio::post(w->io(), [&w = *w, next] { w.replace_runtime(next); });
    // New books (or accounts) want their own readings; unchanged ones keep theirs and their polls.
    if (new_books && poller_) asio::post(workers_[0]->io(), [this, next] { if (poller_) poller_->start(next); });
    spdlog::info("reloaded {}", initial_.file);
    return {};
}

}  // namespace creditgate::proxy
