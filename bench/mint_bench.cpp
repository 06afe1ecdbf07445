// Micro-benchmark of interception's per-host and per-connection costs: minting a leaf,
// a cache hit, and preparing one server-side SSL with a cached leaf (what each intercepted
// connection pays before its handshake).

#include "certs/intercept_tls.hpp"
#include "certs/leaf_cache.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

using namespace creditgate::certs;
using clock_type = std::chrono::steady_clock;

template <class F>
double median_us(int runs, F&& f) {
    std::vector<double> samples;
    for (int i = 0; i < runs; ++i) {
        const auto start = clock_type::now();
        f(i);
        samples.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - start).count());
    }
    std::sort(samples.begin(), samples.end());
    return samples[samples.size() / 2];
}

int main() {
    char tmpl[] = "/tmp/creditgate-mint-XXXXXX";
    const std::string dir = ::mkdtemp(tmpl);
    std::string error;
    auto ca = load_or_create_ca(dir + "/ca", error);
    if (!ca) {
        std::fprintf(stderr, "%s\n", error.c_str());
        return 1;
    }
    const double mint = median_us(200, [&](int i) { mint_leaf(*ca, "host" + std::to_string(i) + ".example", error); });
    leaf_cache cache(ca, 1024);
    cache.get("api.scraperapi.com", error);
    const double hit = median_us(20000, [&](int) { cache.get("api.scraperapi.com", error); });
    auto ctx = make_intercept_context(error);
    auto leaf = cache.get("api.scraperapi.com", error);
    const std::string host = "api.scraperapi.com";
    const double per_connection = median_us(20000, [&](int) {
        SSL* ssl = SSL_new(ctx.get());
        prepare_intercept_ssl(ssl, *leaf, &host);
        SSL_free(ssl);
    });
    std::printf("leaf mint (ECDSA P-256, signed by the CA): median %.0f us\n", mint);
    std::printf("leaf cache hit:                            median %.2f us\n", hit);
    std::printf("per-connection SSL with a cached leaf:     median %.2f us (before the handshake itself)\n", per_connection);
    std::filesystem::remove_all(dir);
    return 0;
}
