#include "proxy/net/disconnect_watch.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <optional>
#include <string>

using namespace creditgate::proxy;
using namespace std::chrono_literals;

namespace {

using clock_type = std::chrono::steady_clock;

// A call waiting for its vendor: the proxy's end of the client's connection, the client itself,
// and an upstream connection with a read pending on it (what the watch cancels).
struct waiting_call {
    asio::io_context io;
    watch_roster roster{io};
    tcp_socket client{io};
    tcp_socket client_peer{io};
    tcp_stream upstream{io};
    tcp_socket upstream_peer{io};
    char upstream_byte = 0;
    std::optional<error_code> upstream_read;  // how the pending upstream read ended
    clock_type::time_point began = clock_type::now();
    clock_type::duration upstream_read_after{};

    waiting_call() {
        tcp_acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        client_peer.connect(acceptor.local_endpoint());
        acceptor.accept(client);
        upstream.socket().connect(acceptor.local_endpoint());
        acceptor.accept(upstream_peer);
        upstream.async_read_some(asio::buffer(&upstream_byte, 1), [this](error_code ec, std::size_t) {
            upstream_read = ec;
            upstream_read_after = clock_type::now() - began;
        });
    }
};

}  // namespace

TEST_CASE("a client that hangs up while the vendor works is noticed after a full tick", "[watch]") {
    struct row {
        const char* what;
        bool send_first;  // bytes before the FIN, as a TLS client's close_notify
    };
    const row rows[] = {{"a plain close", false}, {"bytes and then a close", true}};
    for (const auto& r : rows) {
        INFO(r.what);
        waiting_call c;
        disconnect_watch watch(c.roster, c.client, c.upstream);
        if (r.send_first) asio::write(c.client_peer, asio::buffer(std::string("\x15\x03\x03")));
        c.client_peer.close();
        c.io.run_for(2s);
        CHECK(watch.client_left());
        REQUIRE(c.upstream_read);
        CHECK(*c.upstream_read == asio::error::operation_aborted);
        // Not armed before the second tick: a fast call never pays for the watch.
        CHECK(c.upstream_read_after >= 2 * watch_roster::tick_period);
        CHECK(c.upstream_read_after < 1s);
    }
}

TEST_CASE("a call answered within its first tick is never watched", "[watch]") {
    waiting_call c;
    std::optional<disconnect_watch> watch(std::in_place, c.roster, c.client, c.upstream);
    c.client_peer.close();
    c.io.run_for(5ms);
    watch->stop();
    CHECK_FALSE(watch->client_left());
    CHECK_FALSE(c.upstream_read);  // the vendor's answer would still be read
    watch.reset();
    // With nobody waiting the roster's timer stops: the loop runs dry instead of ticking on.
    c.upstream.close();
    const auto before = clock_type::now();
    c.io.run_for(2s);
    CHECK(clock_type::now() - before < 1s);
}

TEST_CASE("a pipelined request is not a hang-up and stays for the next read", "[watch]") {
    waiting_call c;
    const std::string next = "GET /next HTTP/1.1\r\n\r\n";
    std::optional<disconnect_watch> watch(std::in_place, c.roster, c.client, c.upstream);
    asio::write(c.client_peer, asio::buffer(next));
    c.io.run_for(60ms);  // past the arming tick
    CHECK_FALSE(watch->client_left());
    CHECK_FALSE(c.upstream_read);
    watch.reset();  // stops: cancels the parked receive, if the bytes had not ended it
    std::string got(next.size(), '\0');
    error_code ec;
    asio::read(c.client, asio::buffer(got), ec);
    CHECK_FALSE(ec);
    CHECK(got == next);
}

TEST_CASE("watches arm in the order their calls began waiting, each once", "[watch]") {
    waiting_call first;  // and a second call on its loop and roster
    tcp_socket client2{first.io}, peer2{first.io};
    tcp_stream upstream2{first.io};
    {
        tcp_acceptor acceptor(first.io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        peer2.connect(acceptor.local_endpoint());
        acceptor.accept(client2);
    }
    disconnect_watch a(first.roster, first.client, first.upstream);
    first.io.run_for(15ms);  // one tick: `a` is due at the next, `b` one later
    disconnect_watch b(first.roster, client2, upstream2);
    first.client_peer.close();
    peer2.close();
    // Both clients are gone, but `b` has not waited a full tick when `a` is armed.
    const auto deadline = clock_type::now() + 2s;
    while (!a.client_left() && clock_type::now() < deadline) first.io.run_one_for(100ms);
    CHECK(a.client_left());
    CHECK_FALSE(b.client_left());
    first.io.run_for(2s);
    CHECK(b.client_left());
    REQUIRE(first.upstream_read);
    CHECK(*first.upstream_read == asio::error::operation_aborted);
}
