#pragma once
// client_session: one client connection's HTTP/1.1 loop — read a request head (with size
// and time limits), identify the client, route, and hand metered calls to the forwarder —
// written once for any stream type (plain TCP now, the TLS of intercepted CONNECTs later).

#include "proxy/worker.hpp"

namespace creditgate::proxy {

// Serves a freshly accepted plain connection until it closes.
task<void> serve_client(worker& w, tcp_socket socket);

}  // namespace creditgate::proxy
