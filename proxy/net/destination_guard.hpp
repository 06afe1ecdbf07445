#pragma once
// destination_guard: which resolved addresses creditgate may dial. Loopback, private,
// link-local, CGNAT, cloud-metadata, IPv4-mapped and other non-public addresses are
// refused unless the host is pinned in `resolve` or private destinations are allowed.

#include <boost/asio/ip/address.hpp>

#include <string_view>

namespace creditgate::proxy {

enum class address_class {
    global,
    unspecified,
    loopback,
    private_use,  // RFC 1918, IPv6 unique-local
    link_local,
    cgnat,        // 100.64.0.0/10
    metadata,     // 169.254.169.254, fd00:ec2::254 and friends
    ipv4_mapped,  // ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16, Teredo
    multicast,
    reserved,     // documentation, benchmarking, "this network", future use, broadcast
};

address_class classify(const boost::asio::ip::address& address);
std::string_view to_string(address_class cls);
inline bool is_dialable_by_default(address_class cls) { return cls == address_class::global; }

}  // namespace creditgate::proxy
