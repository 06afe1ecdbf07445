#include "certs/ca.hpp"
#include "certs/intercept_tls.hpp"
#include "certs/leaf_cache.hpp"
#include "certs/leaf_minter.hpp"

#include <catch2/catch.hpp>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

using namespace creditgate::certs;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
    fs::path path;
    temp_dir() {
        char tmpl[] = "/tmp/creditgate-certs-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~temp_dir() { fs::remove_all(path); }
};

mode_t mode_of(const fs::path& p) {
    struct stat st {};
    ::stat(p.c_str(), &st);
    return st.st_mode & 0777;
}

bool verifies(const certificate_authority& ca, X509* leaf_cert, const std::string& host) {
    X509_STORE* store = X509_STORE_new();
    X509_STORE_add_cert(store, ca.cert.get());
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf_cert, nullptr);
    X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx);
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    X509_VERIFY_PARAM_set_purpose(param, X509_PURPOSE_SSL_SERVER);
    const bool ok = X509_verify_cert(ctx) == 1;
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    return ok;
}

// A fresh CA in a temporary folder, and its leaf for api.scraperapi.com.
struct ca_and_leaf {
    temp_dir tmp;
    std::string error;
    std::shared_ptr<const certificate_authority> ca = load_or_create_ca((tmp.path / "ca").string(), error);
    std::shared_ptr<const leaf> minted = ca ? mint_leaf(*ca, "api.scraperapi.com", error) : nullptr;
};

// What a client negotiated with the intercept context over an in-memory pipe; empty when the
// handshake failed.
struct negotiated {
    std::string version, suite, alpn;
};

negotiated intercept_handshake(const certificate_authority& ca, const leaf& l, const std::string& sni, int max_version,
                               const char* tls13_suites, const char* tls12_ciphers) {
    std::string error;
    auto server_ctx = make_intercept_context(error);
    REQUIRE(server_ctx);
    SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx), ca.cert.get());
    SSL_CTX_set_verify(client_ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_max_proto_version(client_ctx, max_version);
    SSL_CTX_set_ciphersuites(client_ctx, tls13_suites);
    SSL_CTX_set_cipher_list(client_ctx, tls12_ciphers);
    static const unsigned char alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    SSL_CTX_set_alpn_protos(client_ctx, alpn, sizeof alpn);

    SSL* server = SSL_new(server_ctx.get());
    const std::string expected = l.host;
    REQUIRE(prepare_intercept_ssl(server, l, &expected));
    SSL* client = SSL_new(client_ctx);
    SSL_set_tlsext_host_name(client, sni.c_str());
    SSL_set1_host(client, sni.c_str());
    BIO *server_end = nullptr, *client_end = nullptr;
    BIO_new_bio_pair(&server_end, 0, &client_end, 0);
    SSL_set_bio(server, server_end, server_end);
    SSL_set_bio(client, client_end, client_end);
    SSL_set_accept_state(server);
    SSL_set_connect_state(client);
    int client_rc = 0, server_rc = 0;
    for (int round = 0; round < 10 && (client_rc != 1 || server_rc != 1); ++round) {
        if (client_rc != 1) client_rc = SSL_do_handshake(client);
        if (server_rc != 1) server_rc = SSL_do_handshake(server);
    }
    negotiated result;
    if (client_rc == 1 && server_rc == 1) {
        result.version = SSL_get_version(server);
        result.suite = SSL_CIPHER_get_name(SSL_get_current_cipher(server));
        const unsigned char* chosen = nullptr;
        unsigned int length = 0;
        SSL_get0_alpn_selected(client, &chosen, &length);
        result.alpn.assign(reinterpret_cast<const char*>(chosen), length);
    }
    SSL_free(client);
    SSL_free(server);
    SSL_CTX_free(client_ctx);
    return result;
}

}  // namespace

TEST_CASE("intercepted handshakes: the client's suite, TLS 1.2 and 1.3, http/1.1 only, the CONNECT host's name",
          "[intercept]") {
    const ca_and_leaf pki;
    REQUIRE(pki.minted);
    const auto& ca = pki.ca;
    const auto& leaf = pki.minted;
    const char* all13 = "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256";
    const char* all12 = "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305";
    struct row {
        int max_version;
        const char *suites13, *ciphers12, *version, *suite;
    };
    // The client's first choice wins (server preference made OpenSSL pick AES-256 with SHA-384,
    // ~10% more CPU per handshake than the AES-128 most clients ask for).
    const row rows[] = {
        {TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384", all12, "TLSv1.3", "TLS_AES_128_GCM_SHA256"},
        {TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256", all12, "TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256"},
        {TLS1_3_VERSION, all13, all12, "TLSv1.3", "TLS_AES_256_GCM_SHA384"},
        {TLS1_2_VERSION, all13, "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384", "TLSv1.2", "ECDHE-ECDSA-AES128-GCM-SHA256"},
        {TLS1_2_VERSION, all13, "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256", "TLSv1.2", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    };
    for (const auto& r : rows) {
        INFO(r.version << " " << r.suites13 << " / " << r.ciphers12);
        const negotiated got = intercept_handshake(*ca, *leaf, "api.scraperapi.com", r.max_version, r.suites13, r.ciphers12);
        CHECK(got.version == r.version);
        CHECK(got.suite == r.suite);
        CHECK(got.alpn == "http/1.1");  // offered h2 first; the inner loop speaks HTTP/1.1 only
    }
    // TLS 1.2 without an AEAD suite (CBC with SHA-1) is not offered: no handshake.
    CHECK(intercept_handshake(*ca, *leaf, "api.scraperapi.com", TLS1_2_VERSION, all13, "ECDHE-ECDSA-AES128-SHA").version.empty());
    // An SNI that names another host than the CONNECT fails the handshake.
    CHECK(intercept_handshake(*ca, *leaf, "api.crustdata.com", TLS1_3_VERSION, all13, all12).version.empty());
}

TEST_CASE("the CA is created once, with private permissions, and loaded after", "[ca]") {
    temp_dir tmp;
    const std::string dir = (tmp.path / "ca").string();
    std::string error;
    bool created = false;
    auto first = load_or_create_ca(dir, error, &created);
    REQUIRE(first);
    CHECK(created);
    CHECK(mode_of(dir) == 0700);
    CHECK(mode_of(first->key_path) == 0600);
    auto again = load_or_create_ca(dir, error, &created);
    REQUIRE(again);
    CHECK_FALSE(created);
    CHECK(sha256_fingerprint(first->cert.get()) == sha256_fingerprint(again->cert.get()));
    CHECK(sha256_fingerprint(first->cert.get()).size() == 32 * 3 - 1);
    CHECK(X509_check_ca(first->cert.get()) == 1);
}

TEST_CASE("a CA whose files are missing or do not belong together is refused", "[ca]") {
    temp_dir tmp;
    std::string error;
    CHECK_FALSE(load_ca((tmp.path / "none").string(), error));
    CHECK(error.find("cannot read") != std::string::npos);

    const std::string a = (tmp.path / "a").string(), b = (tmp.path / "b").string();
    REQUIRE(load_or_create_ca(a, error));
    REQUIRE(load_or_create_ca(b, error));
    fs::copy_file(fs::path(b) / ca_key_name, fs::path(a) / ca_key_name, fs::copy_options::overwrite_existing);
    CHECK_FALSE(load_or_create_ca(a, error));
    CHECK(error.find("is not the key of") != std::string::npos);

    std::ofstream(fs::path(b) / ca_cert_name) << "not a certificate";
    CHECK_FALSE(load_ca(b, error));
    CHECK(error.find("not a PEM certificate") != std::string::npos);

    fs::remove(fs::path(a) / ca_cert_name);  // a key alone: never silently replaced
    CHECK_FALSE(load_or_create_ca(a, error));
}

TEST_CASE("minted leaves verify against the CA for their host only", "[leaf]") {
    const ca_and_leaf pki;
    REQUIRE(pki.minted);
    const auto& ca = pki.ca;
    const auto& leaf = pki.minted;
    std::string error;
    CHECK(verifies(*ca, leaf->cert.get(), "api.scraperapi.com"));
    CHECK_FALSE(verifies(*ca, leaf->cert.get(), "api.crustdata.com"));
    CHECK(X509_check_host(leaf->cert.get(), "api.scraperapi.com", 0, 0, nullptr) == 1);
    CHECK(X509_check_private_key(leaf->cert.get(), leaf->key.get()) == 1);
    // Valid for well under 200 days, and already valid an hour ago.
    int days = 0, secs = 0;
    ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(leaf->cert.get()), X509_get0_notAfter(leaf->cert.get()));
    CHECK(days < 200);
    CHECK(X509_cmp_time(X509_get0_notBefore(leaf->cert.get()), nullptr) < 0);
    CHECK(EVP_PKEY_get_base_id(leaf->key.get()) == EVP_PKEY_EC);

    temp_dir other;
    auto stranger = load_or_create_ca((other.path / "ca").string(), error);
    CHECK_FALSE(verifies(*stranger, leaf->cert.get(), "api.scraperapi.com"));
}

TEST_CASE("the leaf cache mints once per host, also under concurrency, and stays bounded", "[leaf]") {
    temp_dir tmp;
    std::string error;
    auto ca = load_or_create_ca((tmp.path / "ca").string(), error);
    leaf_cache cache(ca, 3);
    std::vector<std::shared_ptr<const leaf>> got(16);
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i)
        threads.emplace_back([&, i] {
            std::string e;
            got[i] = cache.get("api.neuji.com", e);
        });
    for (auto& t : threads) t.join();
    CHECK(cache.mints() == 1);
    for (const auto& g : got) CHECK(g == got[0]);
    for (const char* host : {"a.example", "b.example", "c.example", "d.example"}) REQUIRE(cache.get(host, error));
    CHECK(cache.mints() == 5);
    REQUIRE(cache.get("d.example", error));
    CHECK(cache.mints() == 5);  // still cached
    REQUIRE(cache.get("api.neuji.com", error));
    CHECK(cache.mints() == 6);  // evicted as the least recently used, minted again
}
