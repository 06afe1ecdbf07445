#include "certs/upstream_tls.hpp"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include <mutex>
#include <string>
#include <unordered_map>

namespace creditgate::certs {

namespace {

// The latest session per upstream, so that new connections skip the full handshake.
class session_cache {
public:
    ~session_cache() {
        for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
    }
    void store(const std::string& key, SSL_SESSION* session) {  // takes the reference
        std::lock_guard lock(mutex_);
        auto [it, inserted] = sessions_.emplace(key, session);
        if (!inserted) {
            SSL_SESSION_free(it->second);
            it->second = session;
        }
    }
    SSL_SESSION* find(const std::string& key) {  // a new reference, or null
        std::lock_guard lock(mutex_);
        auto it = sessions_.find(key);
        if (it == sessions_.end()) return nullptr;
        SSL_SESSION_up_ref(it->second);
        return it->second;
    }

private:
    std::mutex mutex_;
    std::unordered_map<std::string, SSL_SESSION*> sessions_;
};

void free_cache(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) { delete static_cast<session_cache*>(ptr); }

int cache_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, free_cache);
    return index;
}

int key_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int on_new_session(SSL* ssl, SSL_SESSION* session) {
    auto* cache = static_cast<session_cache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
    const auto* key = static_cast<const std::string*>(SSL_get_ex_data(ssl, key_index()));
    if (!cache || !key || !SSL_SESSION_is_resumable(session)) return 0;
    cache->store(*key, session);
    return 1;  // we keep the reference
}

}  // namespace

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
    SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_set_ex_data(ctx.get(), cache_index(), new session_cache);
    SSL_CTX_sess_set_new_cb(ctx.get(), on_new_session);
    return ctx;
}

bool prepare_upstream_ssl(SSL* ssl, const std::string& host, const std::string* session_key) {
    if (SSL_set_tlsext_host_name(ssl, host.c_str()) != 1) return false;
    // Partial wildcards ("a*.example.com") are not accepted for vendor hosts.
    SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (SSL_set1_host(ssl, host.c_str()) != 1) return false;
    if (session_key) {
        SSL_set_ex_data(ssl, key_index(), const_cast<std::string*>(session_key));
        auto* cache = static_cast<session_cache*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), cache_index()));
        if (SSL_SESSION* session = cache ? cache->find(*session_key) : nullptr) {
            SSL_set_session(ssl, session);
            SSL_SESSION_free(session);  // SSL_set_session took its own reference
        }
    }
    return true;
}

void keep_session_resumable(SSL* ssl) { SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN); }

}  // namespace creditgate::certs
