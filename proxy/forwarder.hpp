#pragma once
// forwarder: one metered exchange with a vendor — pick or dial an upstream connection, send
// the request (streamed), wait for the answer while watching for the client to leave, and
// stream the answer back. The retry rule of SPEC §5 step 3 lives here.

#include "policies/vendor_profile.hpp"
#include "proxy/client_reply.hpp"
#include "proxy/exchange.hpp"
#include "proxy/flat_message.hpp"
#include "proxy/request_target.hpp"
#include "proxy/worker.hpp"

#include <span>

namespace creditgate::proxy {

struct forward_request {
    const absolute_target& target;
    const policies::vendor_profile& vendor;
    bool client_is_tls = false;  // CONNECT-intercepted: as_client upstreams use TLS
};

// What a connection lends each exchange, reused from one to the next: the scratch buffer
// bodies pass through and the storage of the vendor's answer head.
struct exchange_space {
    std::span<char> scratch;
    message_head& response_head;
};

// How this worker refuses requests under this config (SPEC §5's connection rule).
inline refusal_context refusal_context_for(worker& w, const runtime& rt, std::span<char> scratch) {
    return {seconds(rt.limits().header_read_s), seconds(rt.limits().client_idle_s),
            w.state().draining.load(std::memory_order_relaxed), scratch};
}

template <class ClientStream>
task<void> forward(worker& w, const runtime& rt, ClientStream& client, beast::flat_buffer& client_buffer,
                   request_parser& parser, const forward_request& request, exchange_space space,
                   exchange_record& record);

}  // namespace creditgate::proxy
