#include "proxy/net/endpoint.hpp"

#include <boost/asio/ip/address.hpp>

#include <charconv>

namespace creditgate::proxy {

std::string endpoint::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        boost::system::error_code ec;
        boost::asio::ip::make_address_v6(std::string(host), ec);
        if (ec) return std::nullopt;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        return std::nullopt;
    return endpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace creditgate::proxy
