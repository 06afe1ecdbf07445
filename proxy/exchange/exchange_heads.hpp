#pragma once
// exchange_heads: the two heads the proxy writes for a metered exchange — the request as the
// vendor gets it (our Host, the injected key, only codings we can inspect, our framing) and the
// answer as the client gets it (its framing, the X-Creditgate-* fields, Connection) — and the
// framing each side of the answer uses.

#include "policies/money.hpp"
#include "policies/vendor_profile.hpp"
#include "proxy/exchange/exchange_record.hpp"
#include "proxy/net/flat_message.hpp"
#include "proxy/net/http_head.hpp"
#include "proxy/net/upstream_connector.hpp"

#include <boost/optional/optional.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::proxy {

inline std::optional<std::uint64_t> to_std(const boost::optional<std::uint64_t>& v) {
    return v ? std::optional<std::uint64_t>(*v) : std::nullopt;
}

struct request_shape {
    std::string origin_form;
    body_framing framing;
    std::optional<std::uint64_t> length;
    bool strip_unreadable_codings;                          // vendors whose answers we read
    const std::optional<std::string>* injected_header_key;  // header or bearer injection
};

std::string request_head(const request_parser& parser, const policies::vendor_profile& vendor, const dial_target& d,
                         const request_shape& shape);

struct response_framing {
    body_framing upstream;
    body_framing client;
};

response_framing choose_framing(const response_parser& p, bool head_request, unsigned client_version);

struct metering_headers {
    std::optional<policies::money> cost;
    const std::vector<std::string>* warnings = nullptr;
    bool out_of_credit = false;
};

std::string response_head(const response_parser& p, response_framing framing, const exchange_record& record,
                          unsigned client_version, bool keep_alive, const metering_headers& m);

// Body bytes we already hold, framed for the client.
void append_framed(std::string& out, std::string_view bytes, body_framing framing, bool last);

}  // namespace creditgate::proxy
