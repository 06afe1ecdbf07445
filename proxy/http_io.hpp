#pragma once
// http_io: the names the proxy's network code shares (Asio, Beast, completion tokens).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <chrono>

namespace creditgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Errors from traffic are values, not exceptions: every await on the data path uses this.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

using request_parser = http::request_parser<http::buffer_body>;
using response_parser = http::response_parser<http::buffer_body>;

inline std::chrono::seconds seconds(std::int64_t s) { return std::chrono::seconds(s); }

}  // namespace creditgate::proxy
