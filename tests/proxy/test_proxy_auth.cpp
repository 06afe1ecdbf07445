#include "proxy/config/proxy_auth.hpp"

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
    const client_identity* who = dir.authenticate("Basic ZXUtMTpzM2NyZXQ=");
    REQUIRE(who);
    CHECK(who->id == "eu-1");
    CHECK(who->team == "growth");
    CHECK_FALSE(dir.authenticate("Basic ZXUtMTpvdGhlcg=="));   // eu-1:other — another client's secret
    CHECK_FALSE(dir.authenticate("Basic bm9ib2R5OnMzY3JldA==")); // nobody:s3cret
    CHECK_FALSE(dir.authenticate("Basic ZXUtMTpzM2NyZXQx"));     // eu-1:s3cret1
}
