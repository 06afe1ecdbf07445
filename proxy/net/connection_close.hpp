#pragma once
// connection_close: how the proxy ends a client connection. One that ended quietly (nothing the
// client sent is left unread) is closed at once; any other gets a lingering close, so that a last
// answer is not destroyed by a reset for data we did not read.

#include "proxy/net/deadline_stream.hpp"

namespace creditgate::proxy {

// Ends the connection and closes the socket; `quiet` is session::ended_quietly(). Sends what
// hold_until_close() held back, with the FIN.
task<void> close_connection(tcp_stream& stream, bool quiet);

}  // namespace creditgate::proxy
