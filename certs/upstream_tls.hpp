#pragma once
// upstream_tls: the client-side TLS context for connections to vendors: TLS 1.2+, peer
// certificates verified against the system store plus the configured extra anchors.
// Hostname checks are set per connection (SSL_set1_host) by the caller.

#include "certs/openssl_ptr.hpp"

#include <optional>
#include <string>

namespace creditgate::certs {

// Returns null and fills `error` when the extra CA file cannot be used.
ssl_ctx_ptr make_upstream_tls_context(const std::optional<std::string>& extra_ca_file, std::string& error);

// Prepares one client connection: SNI and hostname verification for `host`, and the last
// session with `session_key` (host:port) offered for resumption. `session_key` must outlive
// the handshake: the new session is filed under it.
bool prepare_upstream_ssl(SSL* ssl, const std::string& host, const std::string* session_key);

// Before freeing a connection that ended without close_notify: keeps its session resumable
// (OpenSSL marks the sessions of unclean shutdowns unusable).
void keep_session_resumable(SSL* ssl);

}  // namespace creditgate::certs
