#pragma once
// intercept_tls: the server side of an intercepted CONNECT. One shared SSL_CTX (TLS 1.2+,
// ALPN http/1.1 only, one session ticket); each connection gets its host's leaf set on its
// SSL (about 4 µs, against 0.5 ms for an SSL_CTX per host) and an SNI check: a ClientHello
// that names another host than the CONNECT fails the handshake.

#include "certs/leaf_minter.hpp"

#include <string>

namespace creditgate::certs {

ssl_ctx_ptr make_intercept_context(std::string& error);

// `expected_host` must outlive the handshake.
bool prepare_intercept_ssl(SSL* ssl, const leaf& l, const std::string* expected_host);

}  // namespace creditgate::certs
