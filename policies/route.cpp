#include "policies/route.hpp"

#include "policies/host_pattern.hpp"

namespace creditgate::policies {
namespace {

route refuse(refusal_code code, std::string message, bool close = false) {
    route r;
    r.what = route::kind::refuse;
    r.code = code;
    r.message = std::move(message);
    r.close = close;
    return r;
}

route not_a_vendor(const authority& where) {
    if (where.is_ip_literal)
        return refuse(refusal_code::destination_not_allowed,
                      where.host + " is an IP address; creditgate forwards to vendor host names only");
    return refuse(refusal_code::destination_not_allowed, where.host + " is not a vendor creditgate meters");
}

// What every request head is checked for before anything else.
std::optional<route> check_head(const request_head_facts& head, const route_config& config) {
    if (config.draining) return refuse(refusal_code::shutting_down, "creditgate is shutting down");
    // Which Host is the destination, which credentials the caller? With two, nobody can say which
    // one each hop reads (SPEC §5): refused whatever their values.
    if (head.host_fields > 1) return refuse(refusal_code::bad_request, "more than one Host field");
    if (head.proxy_authorization_fields > 1) return refuse(refusal_code::bad_request, "more than one Proxy-Authorization field");
    return std::nullopt;
}

// A metered call to the vendor serving `target`'s host, or why not; either way the route says
// where the request went, for the access log.
route meter(const request_head_facts& head, absolute_target target, const route_config& config) {
    const vendor_profile* vendor = target.where.is_ip_literal ? nullptr : config.routes->vendor_for(target.where.host);
    route r = !vendor ? not_a_vendor(target.where)
              : head.upgrade
                  ? refuse(refusal_code::upgrade_not_supported, "protocol upgrades (WebSocket) to vendors are not metered")
              : head.transfer_encoding && !head.chunked_only
                  // Relayed chunked, a coding like gzip would be dropped: refused, not relayed unfaithfully.
                  ? refuse(refusal_code::bad_request, "Transfer-Encoding must be exactly chunked", true)
                  : route{};
    if (r.message.empty()) {
        r.what = route::kind::meter;
        r.vendor = vendor;
    }
    r.where = target.where;
    r.target = std::move(target);
    return r;
}

route connect(const request_head_facts& head, const route_config& config) {
    auto where = parse_connect_target(head.target);
    if (!where) return refuse(refusal_code::bad_request, "CONNECT needs host:port");
    route r;
    r.where = *where;
    auto refused = [&](route why) {
        why.where = *where;
        return why;
    };
    if (!where->is_ip_literal) {
        if (const vendor_profile* vendor = config.routes->vendor_for(where->host)) {
            if (where->port != 443 && !(config.pinned && config.pinned(where->host, where->port)))
                // A vendor's API is on 443; another port of its host is not metered and not dialled.
                return refused(refuse(refusal_code::destination_not_allowed,
                                      where->to_string() + ": vendor hosts are intercepted on port 443 only"));
            if (!config.mitm)
                // A vendor is never tunnelled blind: without interception its calls would go unmetered.
                return refused(refuse(refusal_code::mitm_disabled, where->host +
                                      " is a metered vendor; CONNECT to it needs TLS interception (tls.mitm), which is off"));
            r.what = route::kind::intercept;
            r.vendor = vendor;
            return r;
        }
    }
    if (!config.routes->is_passthrough(where->host)) return refused(not_a_vendor(*where));
    r.what = route::kind::passthrough;
    return r;
}

// Whether a Host field names the CONNECT's authority (the default port may be left out).
bool names_authority(std::string_view host_field, const authority& where) {
    if (host_field.empty()) return true;  // HTTP/1.0 without Host: the tunnel says where
    std::string host(host_field);
    std::string port;
    if (auto colon = host.rfind(':'); colon != std::string::npos && host.find(']') == std::string::npos && host.find(':') == colon) {
        port = host.substr(colon + 1);
        host.resize(colon);
    }
    if (normalize_host(host) != where.host) return false;
    return port.empty() ? where.port == 443 : port == std::to_string(where.port);
}

}  // namespace

route decide(const request_head_facts& head, credentials who, const route_config& config) {
    if (auto refused = check_head(head, config)) return std::move(*refused);
    // Identity first: nothing about destinations is revealed to strangers.
    if (who != credentials::valid)
        return refuse(refusal_code::proxy_auth_required, who == credentials::missing
                                                             ? "proxy credentials required (Proxy-Authorization: Basic)"
                                                             : "wrong proxy credentials");
    if (head.method == "CONNECT") return connect(head, config);
    auto target = parse_absolute_target(head.target);
    if (!target)
        return refuse(refusal_code::bad_request,
                      "creditgate is a forward proxy: send an absolute URL (http://host/path) as the target");
    return meter(head, std::move(*target), config);
}

route decide_inside(const request_head_facts& head, credentials who, const authority& tunnel, const route_config& config) {
    if (auto refused = check_head(head, config)) return std::move(*refused);
    // The tunnel's credentials stopped holding (a reload rotated the secret or removed the client):
    // no call more on it, and the connection closes, so that the client opens a new CONNECT.
    if (who != credentials::valid)
        return refuse(refusal_code::proxy_auth_required,
                      "the credentials this tunnel was opened with are no longer valid; open a new connection", true);
    if (head.method == "CONNECT") return refuse(refusal_code::bad_request, "CONNECT inside a tunnel");
    std::optional<absolute_target> target;
    if (!head.target.empty() && head.target.front() == '/') {
        target.emplace();
        target->https = true;
        target->where = tunnel;
        target->explicit_port = tunnel.port != 443;
        target->origin_form = std::string(head.target.substr(0, head.target.find('#')));
    } else {
        target = parse_absolute_target(head.target);  // absolute-form inside a tunnel is allowed, for the same host
    }
    if (!target) return refuse(refusal_code::bad_request, "malformed request target");
    if (target->where.host != tunnel.host || target->where.port != tunnel.port || !names_authority(head.host, tunnel)) {
        route r = refuse(refusal_code::misdirected_request,
                         "this connection is for " + tunnel.to_string() + "; the request names another host");
        r.where = target->where;
        return r;
    }
    return meter(head, std::move(*target), config);
}

}  // namespace creditgate::policies
