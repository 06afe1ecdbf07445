#include "proxy/net/connect_tunnel.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace creditgate::proxy {
namespace {

using clock = std::chrono::steady_clock;

task<std::uint64_t> pump(tcp_socket& from, tcp_socket& to, clock::time_point& last_activity) {
    std::array<char, 16 * 1024> buffer;
    std::uint64_t total = 0;
    error_code ignored;
    for (;;) {
        auto [ec, n] = co_await from.async_read_some(asio::buffer(buffer), use_nothrow);
        if (ec) {
            // The source finished (or failed): pass the end on, keep the other direction going.
            to.shutdown(tcp_socket::shutdown_send, ignored);
            break;
        }
        last_activity = clock::now();
        auto [wec, written] = co_await asio::async_write(to, asio::buffer(buffer.data(), n), use_nothrow);
        if (wec) {
            // The destination is gone: nothing more can be delivered either way.
            from.shutdown(tcp_socket::shutdown_both, ignored);
            to.shutdown(tcp_socket::shutdown_both, ignored);
            break;
        }
        total += n;
    }
    co_return total;
}

task<void> watchdog(const clock::time_point& last_activity, std::chrono::seconds idle) {
    steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        timer.expires_at(last_activity + idle);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;  // the tunnel ended first
        if (clock::now() - last_activity >= idle) co_return;
    }
}

}  // namespace

task<tunnel_stats> run_tunnel(tcp_socket& client, tcp_socket& upstream, std::chrono::seconds idle) {
    using namespace asio::experimental::awaitable_operators;
    tunnel_stats stats;
    clock::time_point last_activity = clock::now();
    auto result = co_await ((pump(client, upstream, last_activity) && pump(upstream, client, last_activity)) ||
                            watchdog(last_activity, idle));
    if (result.index() == 0) {
        std::tie(stats.client_to_upstream, stats.upstream_to_client) = std::get<0>(result);
    } else {
        stats.idle_timeout = true;
    }
    error_code ignored;
    client.close(ignored);
    upstream.close(ignored);
    co_return stats;
}

}  // namespace creditgate::proxy
