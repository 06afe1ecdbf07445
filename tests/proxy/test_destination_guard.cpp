#include "proxy/net/destination_guard.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::proxy;

TEST_CASE("address classes", "[guard]") {
    struct row { const char* address; address_class cls; };
    const row rows[] = {
        {"93.184.216.34", address_class::global},    {"8.8.8.8", address_class::global},
        {"127.0.0.1", address_class::loopback},      {"127.255.0.9", address_class::loopback},
        {"0.0.0.0", address_class::unspecified},     {"0.1.2.3", address_class::reserved},
        {"10.1.2.3", address_class::private_use},    {"172.16.0.1", address_class::private_use},
        {"172.31.255.255", address_class::private_use}, {"172.32.0.1", address_class::global},
        {"192.168.1.1", address_class::private_use}, {"169.254.1.1", address_class::link_local},
        {"169.254.169.254", address_class::metadata}, {"100.64.0.1", address_class::cgnat},
        {"100.127.255.255", address_class::cgnat},   {"100.128.0.1", address_class::global},
        {"100.100.100.200", address_class::metadata}, {"224.0.0.1", address_class::multicast},
        {"255.255.255.255", address_class::reserved}, {"198.18.0.1", address_class::reserved},
        {"192.0.2.1", address_class::reserved},
        {"2606:2800:220:1::1", address_class::global}, {"::1", address_class::loopback},
        {"::", address_class::unspecified},          {"fe80::1", address_class::link_local},
        {"fc00::1", address_class::private_use},     {"fd12:3456::1", address_class::private_use},
        {"fd00:ec2::254", address_class::metadata},  {"::ffff:127.0.0.1", address_class::ipv4_mapped},
        {"::ffff:8.8.8.8", address_class::ipv4_mapped}, {"64:ff9b::7f00:1", address_class::ipv4_mapped},
        {"2002:7f00:1::", address_class::ipv4_mapped}, {"::127.0.0.1", address_class::ipv4_mapped},
        {"ff02::1", address_class::multicast},       {"2001:db8::1", address_class::reserved},
    };
    for (const auto& r : rows) {
        INFO(r.address);
        CHECK(classify(boost::asio::ip::make_address(r.address)) == r.cls);
    }
}

TEST_CASE("only global addresses are dialled by default", "[guard]") {
    CHECK(is_dialable_by_default(address_class::global));
    for (auto cls : {address_class::loopback, address_class::private_use, address_class::metadata,
                     address_class::ipv4_mapped, address_class::cgnat, address_class::link_local})
        CHECK_FALSE(is_dialable_by_default(cls));
}
