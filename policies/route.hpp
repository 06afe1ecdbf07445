#pragma once
// route: what the proxy does with one request head — SPEC §5's routing as a value, no I/O. A
// refusal (with its code and whether the connection can carry on), a metered call to a vendor, a
// CONNECT to intercept, or a blind tunnel. The session does the I/O the answer asks for.

#include "policies/refusal_code.hpp"
#include "policies/request_target.hpp"
#include "policies/vendor_routes.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::policies {

// What routing reads of a request head.
struct request_head_facts {
    std::string_view method;  // as sent: "GET", "CONNECT", ...
    std::string_view target;
    std::string_view host;    // the first Host field's value ("" without one)
    std::size_t host_fields = 0;
    std::size_t proxy_authorization_fields = 0;
    bool upgrade = false;            // an Upgrade field, or "upgrade" in Connection
    bool transfer_encoding = false;  // a Transfer-Encoding field at all
    bool chunked_only = false;       // and it says exactly "chunked"
};

// Who sent it: Proxy-Authorization absent, not matching any client, or a client's.
enum class credentials { missing, wrong, valid };

// What routing needs of the runtime: the vendors' and passthrough hosts, interception, the
// `resolve` pins (a vendor is intercepted on 443 or a pinned port), and whether we are draining.
struct route_config {
    const vendor_routes* routes = nullptr;
    bool mitm = true;
    std::function<bool(std::string_view host, std::uint16_t port)> pinned;
    bool draining = false;
};

struct route {
    enum class kind { refuse, meter, intercept, passthrough } what = kind::refuse;
    // refuse
    refusal_code code = refusal_code::bad_request;
    std::string message;
    bool close = false;  // the request cannot be framed past its head: answer, then close
    // meter: the vendor and where; intercept: the vendor; intercept and passthrough: the authority
    const vendor_profile* vendor = nullptr;
    absolute_target target;
    authority where;
};

// A request on a plain connection. `who`: its credentials.
route decide(const request_head_facts& head, credentials who, const route_config& config);
// A request inside an intercepted CONNECT to `tunnel`: identified by the CONNECT's credentials
// (`who`: as they stand under the current config), origin-form, and for that host only (SPEC §5:
// the inner Host must name it, or 421).
route decide_inside(const request_head_facts& head, credentials who, const authority& tunnel, const route_config& config);

}  // namespace creditgate::policies
