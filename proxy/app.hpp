#pragma once
// app: the running server — builds the components from a validated config, owns the
// worker threads and the listeners, reloads on SIGHUP or the admin route, and drains on
// SIGINT/SIGTERM.

#include "proxy/admin/admin_routes.hpp"
#include "proxy/admin/admin_views.hpp"
#include "proxy/alert_service.hpp"
#include "proxy/balance_poller.hpp"
#include "proxy/config/config.hpp"
#include "proxy/admin/metrics.hpp"
#include "proxy/exchange/secret_verifier.hpp"
#include "proxy/worker.hpp"

#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace creditgate::proxy {

class app {
public:
    explicit app(config cfg);
    ~app();

    // Binds, prints the listening line, serves until stopped. Returns the exit code.
    int run();

    // Re-reads the config file; applies it only if it validates. Returns the errors.
    std::vector<std::string> reload();

private:
    bool bind(const endpoint& where, tcp_acceptor& acceptor, std::string_view what);
    std::shared_ptr<const runtime> snapshot();
    std::optional<admin_caller> authenticate(std::string_view presented);
    view_scope scope_of(const admin_caller& caller);
    std::string ca_certificate();
    task<void> accept_loop();
    void wait_for_signal();
    void begin_shutdown();
    void stop_all();
    void release_io_objects();
    void schedule_retention(std::chrono::seconds after);
    admin_hooks admin_hooks_of();
    void announce(unsigned threads);

    config initial_;
    metrics counters_;  // before state_, which points at it
    policies::instance_view self_;  // this process, for /api/v1/instances without a fleet
    server_state state_;
    std::vector<std::unique_ptr<worker>> workers_;
    std::unique_ptr<secret_verifier> verifier_;  // PBKDF2 of hashed client secrets, off the workers
    std::optional<tcp_acceptor> proxy_acceptor_;
    std::optional<tcp_acceptor> admin_acceptor_;
    std::optional<asio::signal_set> signals_;
    std::optional<steady_timer> grace_timer_;
    std::optional<steady_timer> retention_timer_;  // the daily retention pass (SPEC §7)
    std::unique_ptr<admin_routes> admin_;
    std::optional<asio::thread_pool> reports_;  // usage reports query the database here, off the workers
    std::unique_ptr<balance_poller> poller_;    // its loops run on worker 0
    std::unique_ptr<alert_service> alerts_;     // its own thread

    std::mutex reload_mutex_;  // guards current_ (reloads and the admin token are read on worker 0; cheap insurance)
    std::shared_ptr<const runtime> current_;
};

}  // namespace creditgate::proxy
