#pragma once
// intercept_tls: the server side of an intercepted CONNECT. One shared SSL_CTX (TLS 1.2+,
// ALPN http/1.1 only, one session ticket, sent with the first answer to clients that can
// resume); each connection gets its host's leaf set on its SSL (about 4 µs, against 0.5 ms for
// an SSL_CTX per host) and an SNI check: a ClientHello that names another host than the CONNECT
// fails the handshake.

#include "certs/leaf_minter.hpp"

#include <cstddef>
#include <string>

namespace creditgate::certs {

ssl_ctx_ptr make_intercept_context(std::string& error);

// `expected_host` must outlive the handshake.
bool prepare_intercept_ssl(SSL* ssl, const leaf& l, const std::string* expected_host);

// After a TLS 1.3 handshake: one session ticket, for clients that resume (Node, Java, curl within
// a process), sent by the next read or write on the connection. Queued once the first request
// is read, it rides with the first answer instead of in a record of its own when the handshake
// ends (OpenSSL's way): one send, and one wake-up of the client, fewer per connection.
// Only a client whose ClientHello offered psk_dhe_ke can ever use a ticket (RFC 8446 4.2.9); a
// client that did not (Go without a ClientSessionCache, as in hey) gets none. Making one costs
// 20-30 µs of the proxy's ~400 µs per new connection (bench/README), and the client a record
// to decrypt.
void queue_session_ticket(SSL* ssl);

// Whether this connection's ClientHello offered a key exchange mode we resume with.
bool client_can_resume(SSL* ssl);

// Whether a psk_key_exchange_modes extension's body offers psk_dhe_ke.
bool offers_resumption(const unsigned char* modes, std::size_t length);

}  // namespace creditgate::certs
