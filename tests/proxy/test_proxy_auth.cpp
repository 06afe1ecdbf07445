#include "proxy/config/proxy_auth.hpp"
#include "proxy/config/secret_hash.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::proxy;

TEST_CASE("Basic credentials parse", "[auth]") {
    struct row { const char* header; const char* user; const char* password; };
    const row rows[] = {
        {"Basic ZXUtMTpzM2NyZXQ=", "eu-1", "s3cret"},
        {"basic ZXUtMTpzM2NyZXQ=", "eu-1", "s3cret"},
        {"BASIC   ZXUtMTpzM2NyZXQ=  ", "eu-1", "s3cret"},
        {"Basic ZXUtMTo=", "eu-1", ""},                 // "eu-1:"
        {"Basic YTpiOmM=", "a", "b:c"},                 // the password may hold colons
        {"Basic ZXUtMTpzM2NyZXQ", "eu-1", "s3cret"},    // padding is optional
    };
    for (const auto& r : rows) {
        INFO(r.header);
        auto c = parse_basic_credentials(r.header);
        REQUIRE(c);
        CHECK(c->user == r.user);
        CHECK(c->password == r.password);
    }
    for (const char* bad : {"", "Basic", "Basic ", "Bearer abc", "Basic !!!!", "Basic ZXUtMQ==" /* no colon */,
                            "BasicZXUtMTpzM2NyZXQ="}) {
        INFO(bad);
        CHECK_FALSE(parse_basic_credentials(bad));
    }
}

TEST_CASE("clients authenticate by id and secret", "[auth]") {
    const client_directory dir({{"eu-1", "growth", "s3cret"}, {"us-1", "research", "other"}});
    const client_identity* who = dir.authenticate("Basic ZXUtMTpzM2NyZXQ=").client;
    REQUIRE(who);
    CHECK(who->id == "eu-1");
    CHECK(who->team == "growth");
    for (const char* wrong : {"Basic ZXUtMTpvdGhlcg==",      // eu-1:other — another client's secret
                              "Basic bm9ib2R5OnMzY3JldA==",  // nobody:s3cret
                              "Basic ZXUtMTpzM2NyZXQx"}) {   // eu-1:s3cret1
        INFO(wrong);
        const auto c = dir.authenticate(wrong);
        CHECK_FALSE(c.client);
        CHECK_FALSE(c.needs_hash);  // no hashed secrets: nothing slow to ask for
    }
}

TEST_CASE("secret hashes round-trip and refuse what they cannot check", "[auth]") {
    const std::string h = make_secret_hash("s3cret", 100'000);
    std::string error;
    const auto parsed = parse_secret_hash(h, error);
    REQUIRE(parsed);
    CHECK(parsed->iterations == 100'000);
    CHECK(parsed->salt.size() == 16);
    CHECK(verify_secret(*parsed, "s3cret"));
    CHECK_FALSE(verify_secret(*parsed, "s3cret "));
    CHECK(make_secret_hash("s3cret", 100'000) != h);  // a fresh salt each time

    const std::string salt = h.substr(h.find('$', 14) + 1, 22), hash = h.substr(h.rfind('$') + 1);
    for (const std::string& bad : {std::string("s3cret"), "pbkdf2-sha1$100000$" + salt + "$" + hash,
                                   "pbkdf2-sha256$99999$" + salt + "$" + hash, "pbkdf2-sha256$1e6$" + salt + "$" + hash,
                                   "pbkdf2-sha256$100000$" + salt + "$" + hash.substr(0, 20),
                                   "pbkdf2-sha256$100000$$" + hash, "pbkdf2-sha256$100000$" + salt + "$" + hash + "$x",
                                   "pbkdf2-sha256$100000$" + salt + "==$" + hash}) {
        INFO(bad);
        CHECK_FALSE(parse_secret_hash(bad, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("a hashed secret is verified once, then known by its SHA-256", "[auth]") {
    client_config eu1{"eu-1", "growth", ""};
    eu1.secret_hash = make_secret_hash("s3cret", 100'000);
    const client_directory dir({eu1, {"us-1", "research", "other"}});
    CHECK(dir.has_hashed_secrets());

    auto first = dir.authenticate("Basic ZXUtMTpzM2NyZXQ=");  // eu-1:s3cret
    CHECK_FALSE(first.client);
    REQUIRE(first.needs_hash);
    const client_identity* who = dir.verify_hashed(first);
    REQUIRE(who);
    CHECK(who->id == "eu-1");
    CHECK(dir.authenticate("Basic ZXUtMTpzM2NyZXQ=").client == who);  // now without the hash
    CHECK_FALSE(dir.authenticate("Basic ZXUtMTpvdGhlcg==").needs_hash); // the one secret is known: others fail fast

    // A plain client next to hashed ones stays fast; an unknown user pays the hash like a known one.
    CHECK(dir.authenticate("Basic dXMtMTpvdGhlcg==").client);  // us-1:other
    auto nobody = dir.authenticate("Basic bm9ib2R5OnMzY3JldA==");  // nobody:s3cret
    REQUIRE(nobody.needs_hash);
    CHECK_FALSE(dir.verify_hashed(nobody));
    CHECK_FALSE(dir.authenticate("Basic bm9ib2R5OnMzY3JldA==").needs_hash);  // a recent failure is remembered
}

TEST_CASE("a wrong secret for a hashed client is remembered as wrong", "[auth]") {
    client_config eu1{"eu-1", "growth", ""};
    eu1.secret_hash = make_secret_hash("s3cret", 100'000);
    const client_directory dir({eu1});
    auto wrong = dir.authenticate("Basic ZXUtMTpvdGhlcg==");  // eu-1:other
    REQUIRE(wrong.needs_hash);
    CHECK_FALSE(dir.verify_hashed(wrong));
    CHECK_FALSE(dir.authenticate("Basic ZXUtMTpvdGhlcg==").needs_hash);
    auto right = dir.authenticate("Basic ZXUtMTpzM2NyZXQ=");
    REQUIRE(right.needs_hash);  // the right one still gets its hash
    CHECK(dir.verify_hashed(right));
}
