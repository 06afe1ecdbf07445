#include "certs/intercept_tls.hpp"

#include <openssl/err.h>

#include <cstring>

namespace creditgate::certs {
namespace {

int expected_host_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int can_resume_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// Runs on every ClientHello (a second one after a HelloRetryRequest too): notes whether the client
// could resume with a ticket, before the handshake goes on.
int note_resumption_offer(SSL* ssl, int*, void*) {
    const unsigned char* modes = nullptr;
    std::size_t length = 0;
    const bool offered = SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_psk_kex_modes, &modes, &length) == 1 &&
                         offers_resumption(modes, length);
    static char yes;
    SSL_set_ex_data(ssl, can_resume_index(), offered ? &yes : nullptr);
    return SSL_CLIENT_HELLO_SUCCESS;
}

bool same_host(const char* sni, const std::string& expected) {
    std::size_t n = std::strlen(sni);
    // Some clients (older Go, as in Debian's hey) put the port in the SNI, which RFC 6066 does
    // not allow; the host is what must match.
    if (const char* colon = std::strrchr(sni, ':')) {
        const std::size_t at = static_cast<std::size_t>(colon - sni);
        if (at + 1 < n && std::strspn(colon + 1, "0123456789") == n - at - 1) n = at;
    }
    if (n > 0 && sni[n - 1] == '.') --n;  // a trailing dot names the same host
    if (n != expected.size()) return false;
    for (std::size_t i = 0; i < n; ++i) {
        char c = sni[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != expected[i]) return false;
    }
    return true;
}

int check_sni(SSL* ssl, int* alert, void*) {
    const auto* expected = static_cast<const std::string*>(SSL_get_ex_data(ssl, expected_host_index()));
    const char* sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (expected && sni && !same_host(sni, *expected)) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    return SSL_TLSEXT_ERR_OK;
}

int select_http11(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in, unsigned int inlen, void*) {
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char* selected = nullptr;
    if (SSL_select_next_proto(&selected, outlen, http11, sizeof http11, in, inlen) == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_NOACK;  // a client that offers only h2 falls back to no ALPN: HTTP/1.1
}

}  // namespace

ssl_ctx_ptr make_intercept_context(std::string& error) {
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) {
        error = last_openssl_error();
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_tlsext_servername_callback(ctx.get(), check_sni);
    SSL_CTX_set_alpn_select_cb(ctx.get(), select_http11, nullptr);
    SSL_CTX_set_client_hello_cb(ctx.get(), note_resumption_offer, nullptr);
    // No ticket in the handshake's last flight: queue_session_ticket() has one ride with the first
    // answer, for clients that can use it.
    SSL_CTX_set_num_tickets(ctx.get(), 0);
    // The client picks the suite: every one offered is an AEAD with ECDHE (TLS 1.3's, and these
    // for TLS 1.2 with the ECDSA leaf), and clients know which is fast on their hardware. Server
    // preference made OpenSSL choose AES-256-GCM-SHA384 over the AES-128-GCM-SHA256 most clients ask
    // for: ~10% more CPU per handshake, the proxy's largest cost per new client connection.
    SSL_CTX_set_options(ctx.get(), SSL_OP_NO_RENEGOTIATION);
    if (SSL_CTX_set_cipher_list(ctx.get(), "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
                                           "ECDHE-ECDSA-CHACHA20-POLY1305") != 1) {
        error = last_openssl_error();
        return nullptr;
    }
    // The leaf goes alone: clients trust our CA itself. Without NO_AUTO_CHAIN OpenSSL would try
    // to build a chain from this context's (empty) store on every handshake, and fail.
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS | SSL_MODE_NO_AUTO_CHAIN);
    return ctx;
}

bool prepare_intercept_ssl(SSL* ssl, const leaf& l, const std::string* expected_host) {
    return SSL_use_certificate(ssl, l.cert.get()) == 1 && SSL_use_PrivateKey(ssl, l.key.get()) == 1 &&
           SSL_set_ex_data(ssl, expected_host_index(), const_cast<std::string*>(expected_host)) == 1;
}

bool offers_resumption(const unsigned char* modes, std::size_t length) {
    // PskKeyExchangeModes: a one-byte length, then the modes (RFC 8446 4.2.9). OpenSSL resumes
    // only with psk_dhe_ke unless SSL_OP_ALLOW_NO_DHE_KEX, which is not set here.
    constexpr unsigned char psk_dhe_ke = 1;
    if (length < 1 || modes[0] != length - 1) return false;
    for (std::size_t i = 1; i < length; ++i)
        if (modes[i] == psk_dhe_ke) return true;
    return false;
}

bool client_can_resume(SSL* ssl) { return SSL_get_ex_data(ssl, can_resume_index()) != nullptr; }

void queue_session_ticket(SSL* ssl) {
    if (SSL_version(ssl) == TLS1_3_VERSION && client_can_resume(ssl)) SSL_new_session_ticket(ssl);
}

}  // namespace creditgate::certs
