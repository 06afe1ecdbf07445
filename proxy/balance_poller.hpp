#pragma once
// balance_poller: the periodic balance checks of SPEC §6. For every account with an API key
// whose vendor has a balance endpoint, a loop on one worker's context asks the vendor at
// launch and then every poll_interval_s (never sooner than the profile's min_interval_s),
// backs off when the vendor fails, and hands each reading to the ledger. Nothing on the
// request path ever waits for it.

#include "proxy/config/runtime.hpp"
#include "proxy/worker.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <string>

namespace creditgate::proxy {

class balance_poller {
public:
    explicit balance_poller(worker& home) : home_(home) {}

    // Starts polling the accounts of `rt`; a later call (a reload) replaces the loops of the
    // previous one, keeping when each account was last asked. Call on the home worker's thread.
    void start(std::shared_ptr<const runtime> rt);
    // Ends every loop (shutdown). Same thread.
    void stop();

private:
    struct loop_state;
    task<void> poll_loop(std::shared_ptr<const runtime> rt, std::size_t account, std::shared_ptr<loop_state> state);

    worker& home_;
    std::vector<std::shared_ptr<loop_state>> loops_;
    std::map<std::string, std::chrono::steady_clock::time_point> last_poll_;  // by account id
};

}  // namespace creditgate::proxy
