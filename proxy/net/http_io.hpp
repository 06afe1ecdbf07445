#pragma once
// http_io: the names the proxy's network code shares (Asio, Beast, completion tokens).

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>

#include <chrono>

namespace creditgate::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

// Every proxy thread runs its own io_context, so sockets, timers and coroutines name its
// executor type directly instead of the type-erased any_io_executor: Asio and Beast copy the
// executor into every operation and handler, and the erased one cost ~6% of the worker's
// instructions (callgrind) in those copies alone.
using executor = asio::io_context::executor_type;
template <class T = void>
using task = asio::awaitable<T, executor>;
inline constexpr asio::use_awaitable_t<executor> use_task{};
using tcp_socket = asio::basic_stream_socket<tcp, executor>;
using tcp_acceptor = asio::basic_socket_acceptor<tcp, executor>;
using tcp_resolver = asio::ip::basic_resolver<tcp, executor>;
using steady_timer = asio::basic_waitable_timer<std::chrono::steady_clock, asio::wait_traits<std::chrono::steady_clock>, executor>;

// Errors from traffic are values, not exceptions: every await on the data path uses this.
inline constexpr auto use_nothrow = asio::as_tuple(use_task);

inline std::chrono::seconds seconds(std::int64_t s) { return std::chrono::seconds(s); }

}  // namespace creditgate::proxy
