#pragma once
// alert_service: the alerts of SPEC §12. Once a second, on a thread of its own, it looks at the
// books (policies::detect_alerts), keeps each event once per budget (or account) and period —
// the ledger store remembers what was sent, so reloads, restarts and a fleet's other instances
// send none twice — logs it, and posts it to every configured webhook that wants its kind: a 5 s
// timeout per attempt, retried with backoff for up to an hour, in memory. Nothing on the request
// path waits for any of it.

#include "proxy/admin/metrics.hpp"
#include "proxy/config/runtime.hpp"
#include "proxy/net/http_io.hpp"

#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>

namespace creditgate::proxy {

class alert_service {
public:
    using runtime_source = std::function<std::shared_ptr<const runtime>()>;
    alert_service(runtime_source current, metrics& counters);
    ~alert_service();  // stops, dropping deliveries still retrying
    alert_service(const alert_service&) = delete;
    alert_service& operator=(const alert_service&) = delete;

    void start();

    // Delivery timings. Tests shorten the look and the first retry with CREDITGATE_ALERT_TICK_MS
    // and CREDITGATE_ALERT_RETRY_S in the environment.
    struct timings {
        std::chrono::milliseconds tick{1000};
        std::chrono::seconds timeout{5};
        std::chrono::seconds first_retry{1}, longest_retry{300}, give_up_after{3600};
    };
    static timings default_timings();

private:
    task<void> watch();
    void look(const std::shared_ptr<const runtime>& current);
    task<void> deliver(std::shared_ptr<const runtime> rt, const alert_config* target, std::string kind, std::string body);

    runtime_source current_;
    metrics& counters_;
    timings timings_;
    asio::io_context io_;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard_;
    std::thread thread_;
    std::set<std::string> seen_;  // event keys this process has remembered (the store holds all)
};

}  // namespace creditgate::proxy
