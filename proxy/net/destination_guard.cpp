#include "proxy/net/destination_guard.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace creditgate::proxy {
namespace {

bool in_v4(std::uint32_t a, std::uint32_t net, int bits) {
    const std::uint32_t mask = bits == 0 ? 0 : ~std::uint32_t{0} << (32 - bits);
    return (a & mask) == (net & mask);
}

constexpr std::uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d) { return (a << 24) | (b << 16) | (c << 8) | d; }

address_class classify_v4(std::uint32_t a) {
    if (a == v4(169, 254, 169, 254) || a == v4(100, 100, 100, 200)) return address_class::metadata;  // AWS/GCP/Azure, Alibaba
    if (in_v4(a, v4(0, 0, 0, 0), 8)) return a == 0 ? address_class::unspecified : address_class::reserved;
    if (in_v4(a, v4(127, 0, 0, 0), 8)) return address_class::loopback;
    if (in_v4(a, v4(10, 0, 0, 0), 8) || in_v4(a, v4(172, 16, 0, 0), 12) || in_v4(a, v4(192, 168, 0, 0), 16))
        return address_class::private_use;
    if (in_v4(a, v4(169, 254, 0, 0), 16)) return address_class::link_local;
    if (in_v4(a, v4(100, 64, 0, 0), 10)) return address_class::cgnat;
    if (in_v4(a, v4(224, 0, 0, 0), 4)) return address_class::multicast;
    if (in_v4(a, v4(192, 0, 0, 0), 24) || in_v4(a, v4(192, 0, 2, 0), 24) || in_v4(a, v4(198, 18, 0, 0), 15) ||
        in_v4(a, v4(198, 51, 100, 0), 24) || in_v4(a, v4(203, 0, 113, 0), 24) || in_v4(a, v4(240, 0, 0, 0), 4))
        return address_class::reserved;
    return address_class::global;
}

address_class classify_v6(const boost::asio::ip::address_v6& address) {
    const std::array<unsigned char, 16> b = address.to_bytes();
    auto prefix = [&](std::initializer_list<unsigned char> bytes, int bits) {
        int i = 0;
        for (unsigned char want : bytes) {
            const int remaining = bits - 8 * i;
            if (remaining <= 0) break;
            const unsigned char mask = remaining >= 8 ? 0xff : static_cast<unsigned char>(0xff << (8 - remaining));
            if ((b[i] & mask) != (want & mask)) return false;
            ++i;
        }
        return true;
    };
    if (address.is_unspecified()) return address_class::unspecified;
    if (address.is_loopback()) return address_class::loopback;
    if (address.is_v4_mapped() || prefix({0, 0x64, 0xff, 0x9b}, 32) /* NAT64: 64:ff9b::/96, 64:ff9b:1::/48 */ ||
        prefix({0x20, 0x02}, 16) /* 6to4 */ || prefix({0x20, 0x01, 0, 0}, 32) /* Teredo */)
        return address_class::ipv4_mapped;
    // IPv4-compatible ::a.b.c.d (deprecated) is as dangerous as mapped.
    if (std::all_of(b.begin(), b.begin() + 12, [](unsigned char c) { return c == 0; })) return address_class::ipv4_mapped;
    if (b == std::array<unsigned char, 16>{0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54})
        return address_class::metadata;  // AWS IMDS over IPv6
    if (prefix({0xfc}, 7)) return address_class::private_use;
    if (prefix({0xfe, 0x80}, 10)) return address_class::link_local;
    if (prefix({0xfe, 0xc0}, 10)) return address_class::private_use;  // deprecated site-local
    if (b[0] == 0xff) return address_class::multicast;
    if (prefix({0x20, 0x01, 0x0d, 0xb8}, 32) || prefix({0x01, 0, 0, 0, 0, 0, 0, 0}, 64) /* discard-only */)
        return address_class::reserved;
    return address_class::global;
}

}  // namespace

address_class classify(const boost::asio::ip::address& address) {
    if (address.is_v4()) return classify_v4(address.to_v4().to_uint());
    return classify_v6(address.to_v6());
}

std::string_view to_string(address_class cls) {
    switch (cls) {
        case address_class::global: return "global";
        case address_class::unspecified: return "unspecified";
        case address_class::loopback: return "loopback";
        case address_class::private_use: return "private";
        case address_class::link_local: return "link-local";
        case address_class::cgnat: return "CGNAT";
        case address_class::metadata: return "cloud metadata";
        case address_class::ipv4_mapped: return "IPv4-mapped";
        case address_class::multicast: return "multicast";
        case address_class::reserved: return "reserved";
    }
    return "reserved";
}

}  // namespace creditgate::proxy
