#pragma once
// admin_server: the admin listener's HTTP/1.1 transport (small bodies, keep-alive); what it
// answers is admin_routes' business.

#include "proxy/admin/admin_routes.hpp"
#include "proxy/net/http_io.hpp"

namespace creditgate::proxy {

// Accepts on `acceptor` until it is closed; serves each connection on the acceptor's context.
// Routes that read the database (usage reports) run on `slow_work`, so that a long report
// never holds up the proxy connections that share the acceptor's thread.
task<void> run_admin_server(tcp_acceptor& acceptor, const admin_routes& routes, asio::any_io_executor slow_work);

}  // namespace creditgate::proxy
