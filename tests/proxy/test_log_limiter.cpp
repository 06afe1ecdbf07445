#include "proxy/exchange/refuse.hpp"
#include "proxy/net/log_limiter.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::proxy;

TEST_CASE("a repeating error is logged once per interval, with the count it kept quiet", "[log]") {
    log_limiter limiter(std::chrono::seconds(10));
    const auto t0 = log_limiter::clock::time_point{} + std::chrono::hours(1);
    CHECK(limiter.admit(t0) == std::optional<std::uint64_t>(0));
    for (int i = 1; i <= 199; ++i) CHECK_FALSE(limiter.admit(t0 + std::chrono::milliseconds(50 * i)).has_value());
    CHECK(limiter.admit(t0 + std::chrono::seconds(10)) == std::optional<std::uint64_t>(199));
    CHECK_FALSE(limiter.admit(t0 + std::chrono::seconds(11)).has_value());
    CHECK(limiter.admit(t0 + std::chrono::seconds(60)) == std::optional<std::uint64_t>(1));
}

namespace {

// Parses a request head (and whatever body bytes follow it) the way the session does.
body_rest rest_after(const std::string& text, bool continue_sent = false) {
    static message_head head;
    request_parser parser(head);
    parser.eager(false);
    error_code ec;
    parser.put(asio::buffer(text), ec);
    REQUIRE_FALSE(ec);
    REQUIRE(parser.is_header_done());
    return rest_of_body(parser, continue_sent);
}

}  // namespace

TEST_CASE("what is left of a refused body decides whether the connection is kept", "[refusal]") {
    // SPEC §5: at most 64 KiB still to come keeps it; more, or a client waiting for 100 Continue, closes it.
    CHECK(rest_after("GET / HTTP/1.1\r\nHost: a\r\n\r\n") == body_rest::none);
    CHECK(rest_after("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n") == body_rest::small);
    CHECK(rest_after("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65536\r\n\r\n") == body_rest::small);
    CHECK(rest_after("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 65537\r\n\r\n") == body_rest::large);
    CHECK(rest_after("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n") == body_rest::unknown);
    CHECK(rest_after("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n") == body_rest::large);
    CHECK(rest_after("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n", true) ==
          body_rest::small);
}
