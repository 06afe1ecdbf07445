#include "proxy/net/deadline_stream.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <optional>

using namespace creditgate::proxy;
using namespace std::chrono_literals;

namespace {

// A connected pair on loopback: `near` is the stream under test, `far` the peer.
struct connected_pair {
    asio::io_context io;
    tcp_stream near{io};
    tcp_socket far{io};
    connected_pair() {
        tcp_acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        near.socket().connect(acceptor.local_endpoint());
        acceptor.accept(far);
    }
};

struct read_result {
    std::optional<error_code> ec;
    std::chrono::steady_clock::duration after{};
};

void start_read(connected_pair& p, char* buffer, read_result& out) {
    const auto started = std::chrono::steady_clock::now();
    p.near.async_read_some(asio::buffer(buffer, 1), [&out, started](error_code ec, std::size_t) {
        out.ec = ec;
        out.after = std::chrono::steady_clock::now() - started;
    });
}

}  // namespace

TEST_CASE("a read that outlives the deadline fails with timeout and closes the socket", "[deadline]") {
    struct row {
        const char* what;
        std::chrono::milliseconds before_read, while_pending;  // 0: not set
    };
    const row rows[] = {
        {"a deadline set before the read", 50ms, 0ms},
        {"an earlier deadline replacing a later one while the read is pending", 10'000ms, 50ms},
        {"a deadline set only once the read is pending", 0ms, 50ms},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        connected_pair p;
        char byte = 0;
        read_result got;
        if (r.before_read.count()) p.near.expires_after(r.before_read);
        start_read(p, &byte, got);
        if (r.while_pending.count()) p.near.expires_after(r.while_pending);
        p.io.run_for(2s);
        REQUIRE(got.ec);
        CHECK(*got.ec == beast::error::timeout);
        CHECK(got.after >= 45ms);
        CHECK(got.after < 1s);
        CHECK_FALSE(p.near.socket().is_open());
    }
}

TEST_CASE("a deadline moved later before it passes does not fire; expires_never stops it", "[deadline]") {
    connected_pair p;
    char byte = 0;
    read_result r;
    p.near.expires_after(60ms);
    start_read(p, &byte, r);
    // Keep pushing the deadline out, as a keep-alive connection does per request...
    steady_timer nudge(p.io);
    int nudges = 0;
    std::function<void()> push = [&] {
        nudge.expires_after(20ms);
        nudge.async_wait([&](error_code) {
            if (++nudges < 10) {
                p.near.expires_after(60ms);
                push();
            } else {
                p.near.expires_never();  // ... then drop it: the read waits for data, however long
                nudge.expires_after(150ms);
                nudge.async_wait([&](error_code) { asio::write(p.far, asio::buffer("x", 1)); });
            }
        });
    };
    push();
    p.io.run_for(2s);
    REQUIRE(r.ec);
    CHECK_FALSE(*r.ec);
    CHECK(byte == 'x');
    CHECK(r.after >= 300ms);  // 10 nudges of 20 ms, then 150 ms without a deadline
    CHECK(p.near.socket().is_open());
}

TEST_CASE("a stream destroyed with a read pending ends it without touching the stream", "[deadline]") {
    connected_pair p;
    char byte = 0;
    read_result r;
    std::optional<tcp_stream> stream(std::move(p.near));
    stream->expires_after(50ms);
    stream->async_read_some(asio::buffer(&byte, 1), [&r](error_code ec, std::size_t) { r.ec = ec; });
    stream.reset();
    p.io.run_for(500ms);
    REQUIRE(r.ec);
    CHECK(*r.ec == asio::error::operation_aborted);  // closed by its owner, not timed out
}

TEST_CASE("the coarse clock is never ahead of the precise one, and its deadlines are not early", "[deadline]") {
    REQUIRE(coarse_clock::tick() > 0ns);
    REQUIRE(coarse_clock::tick() <= 10ms);
    constexpr int samples = 20'000;
    int early = 0;
    for (int i = 0; i < samples; ++i) {
        const auto before = std::chrono::steady_clock::now();
        const auto coarse = coarse_clock::now();
        const auto deadline = coarse_clock::deadline_after(30s);
        const auto after = std::chrono::steady_clock::now();
        REQUIRE(coarse <= after);  // one timeline, never ahead
        if (deadline < before + 30s) ++early;
    }
    // Early only when a tick ran more than a tick late (the host took the vCPU away): rare.
    CHECK(early <= samples / 100);
}

TEST_CASE("a keep-open deadline cancels the read but leaves the connection usable", "[deadline]") {
    // For a request body past request_body_s: the client must still hear 408 (SPEC §5).
    connected_pair p;
    char byte = 0;
    read_result got;
    p.near.expires_at(coarse_clock::deadline_after(50ms), true);
    start_read(p, &byte, got);
    p.io.run_for(2s);
    REQUIRE(got.ec);
    CHECK(*got.ec == beast::error::timeout);
    CHECK(p.near.socket().is_open());
    // The answer still goes out, under a deadline of its own.
    p.io.restart();
    std::optional<error_code> wrote;
    p.near.expires_after(1s);
    asio::async_write(p.near, asio::buffer("408", 3), [&](error_code ec, std::size_t) { wrote = ec; });
    p.io.run_for(1s);
    REQUIRE(wrote);
    CHECK_FALSE(*wrote);
    char answer[3] = {};
    CHECK(asio::read(p.far, asio::buffer(answer)) == 3);
    CHECK(std::string_view(answer, 3) == "408");
    // An ordinary deadline afterwards closes again.
    p.io.restart();
    read_result again;
    p.near.expires_after(50ms);
    start_read(p, &byte, again);
    p.io.run_for(2s);
    REQUIRE(again.ec);
    CHECK(*again.ec == beast::error::timeout);
    CHECK_FALSE(p.near.socket().is_open());
}
