#pragma once
// listener: the accept loop of a listening socket. Accepting stays on the acceptor's thread; each
// connection is handed to the io_context `place` picks, and served there by `serve`. Out of
// descriptors (EMFILE and the like) the error comes back at once: the loop waits a little instead
// of spinning, and logs it at most once per 10 s with how often it happened meanwhile.

#include "proxy/net/http_io.hpp"

#include <functional>
#include <string>

namespace creditgate::proxy {

task<void> accept_connections(tcp_acceptor& acceptor, std::string what, std::function<asio::io_context&()> place,
                              std::function<void(tcp_socket)> serve);

}  // namespace creditgate::proxy
