#pragma once
// disconnect_watch: notices a client that hangs up while its call waits for the vendor's
// answer, and cancels the upstream side so that the call ends (and releases what it holds)
// at once instead of when the vendor answers.
//
// Watching costs a receive that is tried at once (a syscall answering EAGAIN), parked and then
// cancelled when the vendor answers: about a tenth of the CPU of a fast proxied call. Most calls
// are answered within a millisecond, too soon for a hang-up to save anything. So a watch only
// enrols with its worker's watch_roster, and the roster arms the watches of calls that are still
// waiting a full tick later (after 10 to 20 ms). A client that leaves is noticed within that
// time; one that leaves a call the vendor answers sooner is charged, as the vendor billed it.

#include "proxy/net/deadline_stream.hpp"

#include <boost/intrusive/list.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

namespace creditgate::proxy {

// Whether a client has hung up, without blocking or consuming anything: for calls that waited
// (in a budget queue) with nobody watching.
bool client_has_left(tcp_socket& client);

class watch_roster;

// Unlinks itself from the roster when it ends; the roster's list unlinks what is left when the
// roster ends first (at shutdown).
using roster_hook = boost::intrusive::list_base_hook<boost::intrusive::link_mode<boost::intrusive::auto_unlink>>;

class disconnect_watch : public roster_hook {
public:
    disconnect_watch(watch_roster& roster, tcp_socket& client, tcp_stream& upstream);
    ~disconnect_watch() { stop(); }
    disconnect_watch(const disconnect_watch&) = delete;
    disconnect_watch& operator=(const disconnect_watch&) = delete;

    void stop();
    bool client_left() const { return armed_ && armed_->client_left; }

private:
    friend class watch_roster;
    // What the parked receive's handler reads: it may run after this object is gone (a
    // completion already queued when stop() ran).
    struct armed_state {
        bool active = true;
        bool client_left = false;
        char peeked = 0;  // the receive's buffer: the byte it looks at, never consumed
        tcp_stream* upstream;
    };
    void arm();

    tcp_socket& client_;
    tcp_stream& upstream_;
    std::uint64_t enrolled_at_ = 0;  // the roster's tick when the call began to wait
    std::shared_ptr<armed_state> armed_;
};

// The watches of one worker's calls that are not armed yet, oldest first. Its timer runs only
// while a call waits.
class watch_roster {
public:
    static constexpr std::chrono::milliseconds tick_period{10};

    explicit watch_roster(asio::io_context& io) : timer_(io.get_executor()) {}
    watch_roster(const watch_roster&) = delete;
    watch_roster& operator=(const watch_roster&) = delete;

    void enroll(disconnect_watch& watch);

private:
    void schedule_tick();
    void on_tick();

    boost::intrusive::list<disconnect_watch, boost::intrusive::constant_time_size<false>> waiting_;
    steady_timer timer_;
    std::uint64_t tick_ = 0;
    bool ticking_ = false;
};

}  // namespace creditgate::proxy
