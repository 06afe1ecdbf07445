#include "certs/leaf_minter.hpp"

#include <openssl/bn.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

namespace creditgate::certs {
namespace {

bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (!ext) return false;
    const bool ok = X509_add_ext(cert, ext, -1) == 1;
    X509_EXTENSION_free(ext);
    return ok;
}

}  // namespace

std::shared_ptr<const leaf> mint_leaf(const certificate_authority& ca, const std::string& host, std::string& error) {
    auto out = std::make_shared<leaf>();
    out->host = host;
    out->key.reset(EVP_EC_gen("P-256"));
    out->cert.reset(X509_new());
    if (!out->key || !out->cert) {
        error = "cannot generate a leaf key: " + last_openssl_error();
        return nullptr;
    }
    X509* cert = out->cert.get();
    X509_set_version(cert, 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 90L * 24 * 3600);
    X509_set_pubkey(cert, out->key.get());
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
