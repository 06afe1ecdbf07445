#include "certs/ca.hpp"

#include "certs/x509_build.hpp"

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>

namespace creditgate::certs {
namespace fs = std::filesystem;

namespace {

// Writes `text` to `path` with `mode`, atomically (a temporary file renamed into place).
bool write_file(const std::string& path, const std::string& text, mode_t mode, std::string& error) {
    const std::string tmp = path + ".tmp";
    FILE* f = std::fopen(tmp.c_str(), "wx");
    if (!f) {
        error = "cannot write " + tmp + ": " + std::strerror(errno);
        return false;
    }
    ::fchmod(fileno(f), mode);
    const bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size() && std::fflush(f) == 0 && ::fsync(fileno(f)) == 0;
    std::fclose(f);
    if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
        error = "cannot write " + path + ": " + std::strerror(errno);
        std::remove(tmp.c_str());
        return false;
    }
    return true;
}

std::string pem_of(const std::function<int(BIO*)>& write) {
    bio_ptr bio(BIO_new(BIO_s_mem()));
    if (!bio || write(bio.get()) != 1) return {};
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::shared_ptr<const certificate_authority> create_ca(const std::string& dir, std::string& error) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        error = "cannot create CA folder " + dir + ": " + ec.message();
        return nullptr;
    }
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);

    auto ca = std::make_shared<certificate_authority>();
    ca->cert_path = (fs::path(dir) / ca_cert_name).string();
    ca->key_path = (fs::path(dir) / ca_key_name).string();
    ca->key.reset(EVP_EC_gen("P-256"));
    if (ca->key) ca->cert = new_certificate(ca->key.get(), 3600, 10L * 365 * 24 * 3600);
    if (!ca->key || !ca->cert) {
        error = "cannot generate the CA: " + last_openssl_error();
        return nullptr;
    }
    X509* cert = ca->cert.get();
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("creditgate"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("creditgate local CA"), -1, -1, 0);
    X509_set_issuer_name(cert, name);
    if (!add_extension(cert, cert, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
        !add_extension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") ||
        !add_extension(cert, cert, NID_subject_key_identifier, "hash") ||
        X509_sign(cert, ca->key.get(), EVP_sha256()) == 0) {
        error = "cannot sign the CA certificate: " + last_openssl_error();
        return nullptr;
    }
    const std::string key_pem = pem_of([&](BIO* b) {
        return PEM_write_bio_PrivateKey(b, ca->key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    });
    const std::string cert_pem = pem_of([&](BIO* b) { return PEM_write_bio_X509(b, cert); });
    // The key first: a certificate without its key would make the next start refuse.
    if (!write_file(ca->key_path, key_pem, 0600, error) || !write_file(ca->cert_path, cert_pem, 0644, error)) return nullptr;
    return ca;
}

}  // namespace

std::shared_ptr<const certificate_authority> load_ca(const std::string& dir, std::string& error) {
    auto ca = std::make_shared<certificate_authority>();
    ca->cert_path = (fs::path(dir) / ca_cert_name).string();
    ca->key_path = (fs::path(dir) / ca_key_name).string();
    FILE* cf = std::fopen(ca->cert_path.c_str(), "r");
    if (!cf) {
        error = "cannot read " + ca->cert_path + ": " + std::strerror(errno);
        return nullptr;
    }
    ca->cert.reset(PEM_read_X509(cf, nullptr, nullptr, nullptr));
    std::fclose(cf);
    FILE* kf = std::fopen(ca->key_path.c_str(), "r");
    if (!kf) {
        error = "cannot read " + ca->key_path + ": " + std::strerror(errno);
        return nullptr;
    }
    ca->key.reset(PEM_read_PrivateKey(kf, nullptr, nullptr, nullptr));
    std::fclose(kf);
    if (!ca->cert) {
        error = ca->cert_path + " is not a PEM certificate";
        return nullptr;
    }
    if (!ca->key) {
        error = ca->key_path + " is not a PEM private key";
        return nullptr;
    }
    if (X509_check_private_key(ca->cert.get(), ca->key.get()) != 1) {
        ERR_clear_error();
        error = ca->key_path + " is not the key of " + ca->cert_path;
        return nullptr;
    }
    return ca;
}

std::shared_ptr<const certificate_authority> load_or_create_ca(const std::string& dir, std::string& error, bool* created) {
    std::error_code ec;
    const bool has_cert = fs::exists(fs::path(dir) / ca_cert_name, ec);
    const bool has_key = fs::exists(fs::path(dir) / ca_key_name, ec);
    if (created) *created = false;
    if (!has_cert && !has_key) {
        if (created) *created = true;
        return create_ca(dir, error);
    }
    return load_ca(dir, error);
}

std::string sha256_fingerprint(X509* cert) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha256(), md, &n);
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned int i = 0; i < n; ++i) {
        if (i) out += ':';
        out += hex[md[i] >> 4];
        out += hex[md[i] & 0xf];
    }
    return out;
}

}  // namespace creditgate::certs
