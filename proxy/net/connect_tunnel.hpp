#pragma once
// connect_tunnel: the blind relay for passthrough CONNECTs. Bytes go both ways unmetered;
// when one side finishes sending, the other side's sending half is shut down (half-close),
// so that protocols which end their request with a FIN still get their answer.

#include "proxy/net/http_io.hpp"

#include <cstdint>

namespace creditgate::proxy {

struct tunnel_stats {
    std::uint64_t client_to_upstream = 0;
    std::uint64_t upstream_to_client = 0;
    bool idle_timeout = false;
};

// Runs until both directions ended, or neither moved for `idle`. Closes both sockets.
task<tunnel_stats> run_tunnel(tcp_socket& client, tcp_socket& upstream, std::chrono::seconds idle);

}  // namespace creditgate::proxy
