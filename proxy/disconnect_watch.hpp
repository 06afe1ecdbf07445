#pragma once
// disconnect_watch: notices a client that hangs up while its call waits for the vendor's
// answer, and cancels the upstream side so that the call ends (and releases what it holds)
// at once instead of when the vendor answers.

#include "proxy/deadline_stream.hpp"

#include <memory>

namespace creditgate::proxy {

// Whether a client has hung up, without blocking or consuming anything: for calls that waited
// (in a budget queue) with nobody watching.
bool client_has_left(tcp_socket& client);

class disconnect_watch {
public:
    disconnect_watch(tcp_socket& client, tcp_stream& upstream);
    ~disconnect_watch() { stop(); }
    disconnect_watch(const disconnect_watch&) = delete;
    disconnect_watch& operator=(const disconnect_watch&) = delete;

    void stop();
    bool client_left() const { return state_->client_left; }

private:
    struct state {
        bool active = true;
        bool client_left = false;
        char peeked = 0;  // the receive's buffer: the byte it looks at, never consumed
        tcp_stream* upstream;
    };
    void arm();

    tcp_socket& client_;
    std::shared_ptr<state> state_;
};

}  // namespace creditgate::proxy
