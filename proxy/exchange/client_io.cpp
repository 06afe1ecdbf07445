#include "proxy/exchange/client_io.hpp"

namespace creditgate::proxy {

template task<error_code> write_all<client_stream>(client_stream&, std::span<const asio::const_buffer>, std::chrono::seconds);
template task<error_code> write_all<upstream_stream>(upstream_stream&, std::span<const asio::const_buffer>, std::chrono::seconds);
template task<error_code> write_all<tcp_stream>(tcp_stream&, std::span<const asio::const_buffer>, std::chrono::seconds);
template task<error_code> read_body<client_stream, true>(client_stream&, beast::flat_buffer&, flat_parser<true>&, std::uint64_t,
                                                         std::span<char>, body_time, std::string*);
template task<error_code> read_body<upstream_stream, false>(upstream_stream&, beast::flat_buffer&, flat_parser<false>&,
                                                            std::uint64_t, std::span<char>, body_time, std::string*);
template task<relay_outcome> relay_body<client_stream, upstream_stream, true>(
    client_stream&, beast::flat_buffer&, flat_parser<true>&, upstream_stream&, std::string_view, body_framing,
    std::span<char>, std::chrono::seconds, std::chrono::seconds, coarse_clock::time_point);
template task<relay_outcome> relay_body<upstream_stream, client_stream, false>(
    upstream_stream&, beast::flat_buffer&, flat_parser<false>&, client_stream&, std::string_view, body_framing,
    std::span<char>, std::chrono::seconds, std::chrono::seconds, coarse_clock::time_point);

}  // namespace creditgate::proxy
