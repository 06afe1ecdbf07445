#pragma once
// openssl_ptr: unique_ptr aliases that free OpenSSL objects with their own functions.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace creditgate::certs {

template <auto Free>
struct openssl_deleter {
    template <class T>
    void operator()(T* p) const noexcept { Free(p); }
};

using bio_ptr = std::unique_ptr<BIO, openssl_deleter<BIO_free_all>>;
using evp_pkey_ptr = std::unique_ptr<EVP_PKEY, openssl_deleter<EVP_PKEY_free>>;
using x509_ptr = std::unique_ptr<X509, openssl_deleter<X509_free>>;
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, openssl_deleter<SSL_CTX_free>>;

// The oldest error on this thread's OpenSSL queue, as text (and the queue cleared).
std::string last_openssl_error();

}  // namespace creditgate::certs
