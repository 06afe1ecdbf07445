#include "certs/upstream_tls.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

namespace creditgate::certs {

std::string last_openssl_error() {
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0) return "unknown OpenSSL error";
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    return buf;
}

ssl_ctx_ptr make_upstream_tls_context(const std::optional<std::string>& extra_ca_file, std::string& error) {
    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        error = last_openssl_error();
        return nullptr;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    // The system store (honours SSL_CERT_FILE / SSL_CERT_DIR) is always trusted.
    if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
        error = "cannot load the system trust store: " + last_openssl_error();
        return nullptr;
    }
    if (extra_ca_file && !extra_ca_file->empty() &&
        SSL_CTX_load_verify_locations(ctx.get(), extra_ca_file->c_str(), nullptr) != 1) {
        error = "cannot load upstream CA file " + *extra_ca_file + ": " + last_openssl_error();
        return nullptr;
    }
    // Vendors speak HTTP/1.1 to us; say so, so that an ALPN-aware server does not pick h2.
    static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(ctx.get(), alpn, sizeof alpn);
    SSL_CTX_set_mode(ctx.get(), SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

bool prepare_upstream_ssl(SSL* ssl, const std::string& host) {
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
    // Partial wildcards ("a*.example.com") are not accepted for vendor hosts.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return SSL_set1_host(ssl, host.c_str()) == 1;
}

}  // namespace creditgate::certs
