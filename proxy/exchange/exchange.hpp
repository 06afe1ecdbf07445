#pragma once
// exchange: one metered call through the proxy, in the phases of SPEC §5's metered exchange:
// inspect (the body, when the price depends on it) → admit (maybe waiting in a budget queue) →
// send (over a pooled connection, with the retry rule) → await the answer's head while watching
// the client → settle → relay. Compiled once for plain and intercepted clients (client_stream).

#include "policies/request_target.hpp"
#include "policies/vendor_profile.hpp"
#include "proxy/exchange/client_stream.hpp"
#include "proxy/exchange/exchange_record.hpp"
#include "proxy/net/flat_message.hpp"
#include "proxy/worker.hpp"

#include <span>

namespace creditgate::proxy {

struct exchange_request {
    const policies::absolute_target& target;
    const policies::vendor_profile& vendor;
    bool client_is_tls = false;  // CONNECT-intercepted: as_client upstreams use TLS
};

// What a connection lends each exchange, reused from one to the next: the scratch buffer bodies
// pass through and the storage of the vendor's answer head.
struct exchange_space {
    std::span<char> scratch;
    message_head& response_head;
};

task<void> run_exchange(worker& w, const runtime& rt, client_stream& client, beast::flat_buffer& client_buffer,
                        request_parser& parser, const exchange_request& request, exchange_space space,
                        exchange_record& record);

}  // namespace creditgate::proxy
