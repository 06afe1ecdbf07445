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
#include <vector>

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

namespace {

// A ClientHello record (one record, as OpenSSL's client writes it) without the extension of the
// given type: the record, handshake and extensions lengths shrink to match.
std::vector<unsigned char> without_extension(std::vector<unsigned char> hello, unsigned type) {
    auto u16 = [&](std::size_t at) { return std::size_t{hello[at]} << 8 | hello[at + 1]; };
    auto shrink = [&](std::size_t at, std::size_t bytes, std::size_t by) {
        std::size_t value = 0;
        for (std::size_t i = 0; i < bytes; ++i) value = value << 8 | hello[at + i];
        value -= by;
        for (std::size_t i = bytes; i-- > 0; value >>= 8) hello[at + i] = static_cast<unsigned char>(value & 0xff);
    };
    std::size_t at = 5 + 4 + 2 + 32;     // record header, handshake header, legacy_version, random
    at += 1 + hello[at];                 // session id
    at += 2 + u16(at);                   // cipher suites
    at += 1 + hello[at];                 // compression methods
    const std::size_t extensions = at;
    for (at += 2; at + 4 <= hello.size(); at += 4 + u16(at + 2)) {
        if (u16(at) != type) continue;
        const std::size_t cut = 4 + u16(at + 2);
        hello.erase(hello.begin() + static_cast<std::ptrdiff_t>(at), hello.begin() + static_cast<std::ptrdiff_t>(at + cut));
        shrink(3, 2, cut);
        shrink(6, 3, cut);
        shrink(extensions, 2, cut);
        break;
    }
    return hello;
}

int count_ticket(SSL* ssl, SSL_SESSION*) {
    ++*static_cast<int*>(SSL_get_app_data(ssl));
    return 0;  // not kept
}

}  // namespace

TEST_CASE("psk_key_exchange_modes bodies: only psk_dhe_ke lets a client resume with our ticket", "[intercept]") {
    struct row {
        std::vector<unsigned char> body;
        bool resumes;
    };
    const row rows[] = {
        {{1, 1}, true},         // psk_dhe_ke: what OpenSSL, NSS and Go with a session cache send
        {{2, 0, 1}, true},      // both modes
        {{1, 0}, false},        // psk_ke alone: OpenSSL would not resume without (EC)DHE
        {{0}, false},           // an empty list
        {{}, false},            // no body
        {{3, 1}, false},        // a list longer than the body
        {{1, 1, 1}, false},     // trailing bytes
    };
    for (const auto& r : rows) {
        INFO("body of " << r.body.size() << " bytes");
        CHECK(offers_resumption(r.body.data(), r.body.size()) == r.resumes);
    }
}

TEST_CASE("a session ticket comes with the first answer, only to a client that can resume", "[intercept]") {
    const ca_and_leaf pki;
    REQUIRE(pki.minted);
    std::string error;
    auto server_ctx = make_intercept_context(error);
    REQUIRE(server_ctx);
    ssl_ctx_ptr client_ctx(SSL_CTX_new(TLS_client_method()));
    X509_STORE_add_cert(SSL_CTX_get_cert_store(client_ctx.get()), pki.ca->cert.get());
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_session_cache_mode(client_ctx.get(), SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(client_ctx.get(), count_ticket);
    const std::string host = pki.minted->host;

    struct connection {
        SSL* server;
        SSL* client;
        BIO* to_server = BIO_new(BIO_s_mem());
        BIO* to_client = BIO_new(BIO_s_mem());
        int tickets = 0;
        connection(SSL_CTX* s, SSL_CTX* c) : server(SSL_new(s)), client(SSL_new(c)) {
            BIO_up_ref(to_server);
            BIO_up_ref(to_client);
            SSL_set_bio(server, to_server, to_client);
            SSL_set_bio(client, to_client, to_server);
            SSL_set_accept_state(server);
            SSL_set_connect_state(client);
            SSL_set_app_data(client, &tickets);
        }
        ~connection() {
            SSL_free(client);
            SSL_free(server);
        }
        std::vector<unsigned char> take(BIO* bio) {
            std::vector<unsigned char> bytes(static_cast<std::size_t>(BIO_ctrl_pending(bio)));
            if (!bytes.empty()) BIO_read(bio, bytes.data(), static_cast<int>(bytes.size()));
            return bytes;
        }
    };

    SECTION("an OpenSSL client offers psk_dhe_ke: one ticket, in the first answer's send") {
        connection c(server_ctx.get(), client_ctx.get());
        REQUIRE(prepare_intercept_ssl(c.server, *pki.minted, &host));
        SSL_set_tlsext_host_name(c.client, host.c_str());
        int client_rc = 0, server_rc = 0;
        for (int round = 0; round < 10 && (client_rc != 1 || server_rc != 1); ++round) {
            if (client_rc != 1) client_rc = SSL_do_handshake(c.client);
            if (server_rc != 1) server_rc = SSL_do_handshake(c.server);
        }
        REQUIRE(client_rc == 1);
        REQUIRE(server_rc == 1);
        CHECK(client_can_resume(c.server));
        char buffer[64];
        CHECK(SSL_read(c.client, buffer, sizeof buffer) <= 0);  // the handshake's end brought no ticket
        CHECK(c.tickets == 0);
        queue_session_ticket(c.server);
        CHECK(SSL_write(c.server, "answer", 6) == 6);
        CHECK(SSL_read(c.client, buffer, sizeof buffer) == 6);
        CHECK(c.tickets == 1);
    }

    SECTION("a ClientHello without psk_key_exchange_modes (Go without a session cache): no ticket") {
        for (const bool strip : {false, true}) {
            connection c(server_ctx.get(), client_ctx.get());
            REQUIRE(prepare_intercept_ssl(c.server, *pki.minted, &host));
            SSL_set_tlsext_host_name(c.client, host.c_str());
            CHECK(SSL_do_handshake(c.client) != 1);
            std::vector<unsigned char> hello = c.take(c.to_server);
            REQUIRE(hello.size() > 100);
            if (strip) {
                const std::size_t before = hello.size();
                hello = without_extension(std::move(hello), TLSEXT_TYPE_psk_kex_modes);
                REQUIRE(hello.size() == before - 6);  // type, length, and the body {1, psk_dhe_ke}
            }
            BIO_write(c.to_server, hello.data(), static_cast<int>(hello.size()));
            CHECK(SSL_do_handshake(c.server) != 1);  // answered; waits for the client's Finished
            CHECK_FALSE(c.take(c.to_client).empty());
            CHECK(client_can_resume(c.server) == !strip);
        }
    }
}
