#pragma once
// client_io: the body reads, relays and writes of an exchange over its two streams — the client's
// (client_stream) and the vendor's (upstream_stream) — instantiated once, in client_io.cpp,
// instead of in every file that uses them: each instantiation of Beast's reads over a stream type
// costs seconds of compile time. Include this rather than net/body_relay.hpp in exchange/.

#include "proxy/exchange/client_stream.hpp"
#include "proxy/net/body_relay.hpp"
#include "proxy/net/upstream_stream.hpp"

namespace creditgate::proxy {

extern template task<error_code> write_all<client_stream>(client_stream&, std::span<const asio::const_buffer>,
                                                          std::chrono::seconds);
extern template task<error_code> write_all<upstream_stream>(upstream_stream&, std::span<const asio::const_buffer>,
                                                            std::chrono::seconds);
extern template task<error_code> write_all<tcp_stream>(tcp_stream&, std::span<const asio::const_buffer>, std::chrono::seconds);
extern template task<error_code> read_body<client_stream, true>(client_stream&, beast::flat_buffer&, flat_parser<true>&,
                                                                std::uint64_t, std::span<char>, body_time, std::string*);
extern template task<error_code> read_body<upstream_stream, false>(upstream_stream&, beast::flat_buffer&, flat_parser<false>&,
                                                                   std::uint64_t, std::span<char>, body_time, std::string*);
extern template task<relay_outcome> relay_body<client_stream, upstream_stream, true>(
    client_stream&, beast::flat_buffer&, flat_parser<true>&, upstream_stream&, std::string_view, body_framing,
    std::span<char>, std::chrono::seconds, std::chrono::seconds, coarse_clock::time_point);
extern template task<relay_outcome> relay_body<upstream_stream, client_stream, false>(
    upstream_stream&, beast::flat_buffer&, flat_parser<false>&, client_stream&, std::string_view, body_framing,
    std::span<char>, std::chrono::seconds, std::chrono::seconds, coarse_clock::time_point);

}  // namespace creditgate::proxy
