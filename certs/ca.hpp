#pragma once
// ca: the local certificate authority that signs interception leaves. Created on first use
// (ECDSA P-256, key 0600 in a 0700 folder), reused afterwards, refused clearly when its
// files are unreadable or do not belong together.

#include "certs/openssl_ptr.hpp"

#include <memory>
#include <optional>
#include <string>

namespace creditgate::certs {

struct certificate_authority {
    x509_ptr cert;
    evp_pkey_ptr key;
    std::string cert_path;
    std::string key_path;
};

inline constexpr const char* ca_cert_name = "creditgate-ca.pem";
inline constexpr const char* ca_key_name = "creditgate-ca.key";

// Loads the CA in `dir`, creating it (and the folder) when neither file exists.
// `created` says which happened. Null with `error` otherwise.
std::shared_ptr<const certificate_authority> load_or_create_ca(const std::string& dir, std::string& error,
                                                               bool* created = nullptr);
// Loads only; never creates.
std::shared_ptr<const certificate_authority> load_ca(const std::string& dir, std::string& error);

// "AB:CD:…" over the DER encoding.
std::string sha256_fingerprint(X509* cert);

}  // namespace creditgate::certs
