#pragma once
// x509_build: the steps the CA and the leaf minter share when they build a certificate.

#include "certs/openssl_ptr.hpp"

#include <string>

namespace creditgate::certs {

// A fresh X509 with version 3, a random positive 128-bit serial, the key, and validity from
// `backdate_s` seconds ago to `valid_s` seconds from now (backdated for clients' clock skew).
x509_ptr new_certificate(EVP_PKEY* key, long backdate_s, long valid_s);

// Adds an extension in OpenSSL's config syntax ("critical,CA:TRUE").
bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value);

}  // namespace creditgate::certs
