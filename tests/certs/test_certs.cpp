#include "certs/ca.hpp"
#include "certs/leaf_cache.hpp"
#include "certs/leaf_minter.hpp"

#include <catch2/catch.hpp>

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

}  // namespace

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
    temp_dir tmp;
    std::string error;
    auto ca = load_or_create_ca((tmp.path / "ca").string(), error);
    REQUIRE(ca);
    auto leaf = mint_leaf(*ca, "api.scraperapi.com", error);
    REQUIRE(leaf);
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
