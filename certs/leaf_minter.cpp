#include "certs/leaf_minter.hpp"

#include "certs/x509_build.hpp"

#include <openssl/x509v3.h>

namespace creditgate::certs {

std::shared_ptr<const leaf> mint_leaf(const certificate_authority& ca, const std::string& host, std::string& error) {
    auto out = std::make_shared<leaf>();
    out->host = host;
    out->key.reset(EVP_EC_gen("P-256"));
    if (out->key) out->cert = new_certificate(out->key.get(), 3600, 90L * 24 * 3600);
    if (!out->key || !out->cert) {
        error = "cannot generate a leaf for " + host + ": " + last_openssl_error();
        return nullptr;
    }
    X509* cert = out->cert.get();
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert, X509_get_subject_name(ca.cert.get()));
    if (!add_extension(cert, ca.cert.get(), NID_subject_alt_name, "DNS:" + host) ||
        !add_extension(cert, ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE") ||
        !add_extension(cert, ca.cert.get(), NID_key_usage, "critical,digitalSignature") ||
        !add_extension(cert, ca.cert.get(), NID_ext_key_usage, "serverAuth") ||
        !add_extension(cert, ca.cert.get(), NID_authority_key_identifier, "keyid:always") ||
        X509_sign(cert, ca.key.get(), EVP_sha256()) == 0) {
        error = "cannot sign a leaf for " + host + ": " + last_openssl_error();
        return nullptr;
    }
    return out;
}

}  // namespace creditgate::certs
