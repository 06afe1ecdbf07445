#include "proxy/net/listener.hpp"

#include "proxy/net/log_limiter.hpp"

#include <spdlog/spdlog.h>

namespace creditgate::proxy {

task<void> accept_connections(tcp_acceptor& acceptor, std::string what, std::function<asio::io_context&()> place,
                              std::function<void(tcp_socket)> serve) {
    steady_timer backoff(acceptor.get_executor());
    log_limiter failures;
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(place(), use_nothrow);
        if (!acceptor.is_open() || ec == asio::error::operation_aborted) co_return;
        if (ec) {
            if (auto quiet = failures.admit(std::chrono::steady_clock::now()))
                spdlog::warn("{} accept failed: {}{}", what, ec.message(),
                             *quiet ? " (" + std::to_string(*quiet) + " more in the last 10 s)" : std::string());
            backoff.expires_after(std::chrono::milliseconds(50));
            co_await backoff.async_wait(use_nothrow);
            continue;
        }
        error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        serve(std::move(socket));
    }
}

}  // namespace creditgate::proxy
