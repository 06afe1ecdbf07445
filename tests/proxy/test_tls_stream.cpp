#include "proxy/net/tls_stream.hpp"

#include "certs/ca.hpp"
#include "certs/intercept_tls.hpp"
#include "certs/leaf_minter.hpp"
#include "certs/upstream_tls.hpp"

#include <catch2/catch.hpp>

#include <boost/asio/detached.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <optional>
#include <vector>

using namespace creditgate;
using namespace creditgate::proxy;
using namespace std::chrono_literals;

namespace {

const std::string vendor_host = "api.scraperapi.com";

// Both ends of one loopback connection speaking TLS through tls_stream: `server` with the
// interception context and a leaf from a fresh CA, `client` with the upstream context trusting
// that CA (and its session cache, keyed like the connector's).
struct tls_pair {
    std::filesystem::path dir = [] {
        char tmpl[] = "/tmp/creditgate-tls-XXXXXX";
        return std::filesystem::path(::mkdtemp(tmpl));
    }();
    std::string error;
    std::shared_ptr<const certs::certificate_authority> ca = certs::load_or_create_ca((dir / "ca").string(), error);
    std::shared_ptr<const certs::leaf> leaf = certs::mint_leaf(*ca, vendor_host, error);
    std::shared_ptr<asio::ssl::context> server_context =
        std::make_shared<asio::ssl::context>(certs::make_intercept_context(error).release());
    std::shared_ptr<asio::ssl::context> client_context =
        std::make_shared<asio::ssl::context>(certs::make_upstream_tls_context(ca->cert_path, error).release());
    const std::string session_key = "s:" + vendor_host + ":443";

    asio::io_context io;
    tcp_stream client_tcp{io};
    tcp_stream server_tcp{io};
    std::optional<tls_stream> client;
    std::optional<tls_stream> server;

    tls_pair() {
        tcp_acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        client_tcp.socket().connect(acceptor.local_endpoint());
        acceptor.accept(server_tcp.socket());
        client.emplace(client_tcp, *client_context);
        server.emplace(server_tcp, *server_context);
        REQUIRE(certs::prepare_intercept_ssl(server->native_handle(), *leaf, &vendor_host));
        REQUIRE(certs::prepare_upstream_ssl(client->native_handle(), vendor_host, &session_key));
    }
    ~tls_pair() { std::filesystem::remove_all(dir); }

    // Runs both sides until each has finished (an exception in either fails the test).
    void run(task<void> client_side, task<void> server_side) {
        int finished = 0;
        auto count = [&finished](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
            ++finished;
        };
        asio::co_spawn(io, std::move(client_side), count);
        asio::co_spawn(io, std::move(server_side), count);
        io.run_for(10s);
        REQUIRE(finished == 2);
    }

    task<void> client_handshake() {
        auto [ec] = co_await client->async_handshake(tls_stream::role::client, use_nothrow);
        REQUIRE_FALSE(ec);
    }
    task<void> server_handshake() {
        auto [ec] = co_await server->async_handshake(tls_stream::role::server, use_nothrow);
        REQUIRE_FALSE(ec);
    }
};

// The TLS records in raw bytes off the wire: (content type, length) each.
std::vector<std::pair<int, std::size_t>> records_in(const std::string& wire) {
    std::vector<std::pair<int, std::size_t>> out;
    for (std::size_t at = 0; at + 5 <= wire.size();) {
        const auto length = static_cast<std::size_t>(static_cast<unsigned char>(wire[at + 3]) << 8 | static_cast<unsigned char>(wire[at + 4]));
        out.emplace_back(static_cast<unsigned char>(wire[at]), length);
        at += 5 + length;
    }
    return out;
}

}  // namespace

TEST_CASE("a ClientHello read before the handshake is handed over, and data crosses both ways", "[tls_stream]") {
    tls_pair p;
    std::string client_got, server_got;
    auto client_side = [&]() -> task<void> {
        co_await p.client_handshake();
        const std::string ask = "GET / HTTP/1.1\r\n\r\n";
        auto [wec, written] = co_await asio::async_write(*p.client, asio::buffer(ask), use_nothrow);
        REQUIRE_FALSE(wec);
        client_got.resize(5);
        auto [rec, read] = co_await asio::async_read(*p.client, asio::buffer(client_got), use_nothrow);
        REQUIRE_FALSE(rec);
    };
    auto server_side = [&]() -> task<void> {
        // As a CONNECT's reader does: bytes taken off the socket before TLS begins.
        std::array<char, 4096> early{};
        auto [ec, n] = co_await p.server_tcp.async_read_some(asio::buffer(early), use_nothrow);
        REQUIRE_FALSE(ec);
        REQUIRE(n > 0);
        REQUIRE(early[0] == 0x16);  // a handshake record: the ClientHello
        auto [hec] = co_await p.server->async_handshake(tls_stream::role::server, asio::buffer(early.data(), n), use_nothrow);
        REQUIRE_FALSE(hec);
        server_got.resize(18);
        auto [rec, read] = co_await asio::async_read(*p.server, asio::buffer(server_got), use_nothrow);
        REQUIRE_FALSE(rec);
        auto [wec, written] = co_await asio::async_write(*p.server, asio::buffer(std::string_view("hello")), use_nothrow);
        REQUIRE_FALSE(wec);
    };
    p.run(client_side(), server_side());
    CHECK(server_got == "GET / HTTP/1.1\r\n\r\n");
    CHECK(client_got == "hello");
    CHECK_FALSE(p.server->has_buffered_input());
}

TEST_CASE("a write of several buffers leaves as one record", "[tls_stream]") {
    // A head, a chunk header, a body and its trailer: Asio's ssl::stream alone would send each as a
    // record of its own.
    struct row {
        const char* what;
        std::vector<std::size_t> sizes;
        std::size_t records;
    };
    const row rows[] = {
        {"head and a small body", {180, 1024}, 1},
        {"chunked framing around a body", {180, 6, 1024, 2, 5}, 1},
        {"more than a record holds: full records, the rest after", {200, 20000}, 2},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        tls_pair p;
        std::vector<std::string> pieces;
        for (std::size_t i = 0; i < r.sizes.size(); ++i) pieces.emplace_back(r.sizes[i], static_cast<char>('a' + i));
        const std::size_t total = std::accumulate(r.sizes.begin(), r.sizes.end(), std::size_t{0});
        std::string wire;
        auto client_side = [&]() -> task<void> {
            co_await p.client_handshake();
            // Read the server's records raw, off the TCP socket, without decrypting them.
            std::array<char, 4096> chunk{};
            std::size_t payload = 0;
            while (payload < total) {
                auto [ec, n] = co_await p.client_tcp.async_read_some(asio::buffer(chunk), use_nothrow);
                REQUIRE_FALSE(ec);
                wire.append(chunk.data(), n);
                payload = 0;
                for (auto [type, length] : records_in(wire)) payload += length;
            }
        };
        auto server_side = [&]() -> task<void> {
            co_await p.server_handshake();
            std::vector<asio::const_buffer> buffers;
            for (const auto& piece : pieces) buffers.push_back(asio::buffer(piece));
            auto [ec, n] = co_await asio::async_write(*p.server, buffers, use_nothrow);
            REQUIRE_FALSE(ec);
            CHECK(n == total);
        };
        p.run(client_side(), server_side());
        const auto records = records_in(wire);
        CHECK(records.size() == r.records);
        for (auto [type, length] : records) CHECK(type == 23);  // application data
    }
}

TEST_CASE("a writer faster than its reader waits for the socket, and every byte arrives in order", "[tls_stream]") {
    tls_pair p;
    std::string sent(24 * 1024 * 1024, '\0');
    for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>(i * 7 + i / 4096);
    std::string got;
    bool reading = false;
    bool write_done_before_reading = false;
    auto client_side = [&]() -> task<void> {
        co_await p.client_handshake();
        auto [ec, n] = co_await asio::async_write(*p.client, asio::buffer(sent), use_nothrow);
        REQUIRE_FALSE(ec);
        CHECK(n == sent.size());
        write_done_before_reading = !reading;
    };
    auto server_side = [&]() -> task<void> {
        co_await p.server_handshake();
        steady_timer pause(p.io);
        pause.expires_after(200ms);  // long enough to fill both socket buffers
        co_await pause.async_wait(use_task);
        reading = true;
        got.resize(sent.size());
        auto [ec, n] = co_await asio::async_read(*p.server, asio::buffer(got), use_nothrow);
        REQUIRE_FALSE(ec);
    };
    p.run(client_side(), server_side());
    CHECK_FALSE(write_done_before_reading);
    CHECK(got == sent);
}

TEST_CASE("the peer's FIN without close_notify is stream_truncated and leaves the session resumable; a close_notify is eof",
          "[tls_stream]") {
    for (const bool with_close_notify : {false, true}) {
        INFO((with_close_notify ? "close_notify, then FIN" : "FIN alone"));
        tls_pair p;
        error_code end;
        auto client_side = [&]() -> task<void> {
            co_await p.client_handshake();
            std::array<char, 16> answer{};
            auto [ec, n] = co_await asio::async_read(*p.client, asio::buffer(answer.data(), 2), use_nothrow);
            REQUIRE_FALSE(ec);
            auto [eec, more] = co_await p.client->async_read_some(asio::buffer(answer), use_nothrow);
            end = eec;
        };
        auto server_side = [&]() -> task<void> {
            co_await p.server_handshake();
            certs::queue_session_ticket(p.server->native_handle());  // the ticket rides with the answer
            auto [wec, written] = co_await asio::async_write(*p.server, asio::buffer(std::string_view("ok")), use_nothrow);
            REQUIRE_FALSE(wec);
            if (with_close_notify) {
                SSL_set_shutdown(p.server->native_handle(), SSL_RECEIVED_SHUTDOWN);
                auto [sec] = co_await p.server->async_shutdown(use_nothrow);
                REQUIRE_FALSE(sec);
            }
            p.server_tcp.close();
        };
        p.run(client_side(), server_side());
        CHECK(end == (with_close_notify ? error_code(asio::error::eof) : error_code(asio::ssl::error::stream_truncated)));
        // A vendor that closes after every answer must not cost a full handshake each time.
        SSL_SESSION* session = SSL_get0_session(p.client->native_handle());
        REQUIRE(session);
        CHECK(SSL_SESSION_is_resumable(session) == 1);
    }
}

TEST_CASE("a deadline that passes while a TLS read waits ends it, and later operations, with timeout", "[tls_stream]") {
    tls_pair p;
    error_code first, second;
    auto client_side = [&]() -> task<void> {
        co_await p.client_handshake();
        p.client_tcp.expires_after(50ms);
        std::array<char, 16> buffer{};
        auto [ec, n] = co_await p.client->async_read_some(asio::buffer(buffer), use_nothrow);
        first = ec;
        auto [ec2, n2] = co_await p.client->async_write_some(asio::buffer(std::string_view("late")), use_nothrow);
        second = ec2;
    };
    p.run(client_side(), p.server_handshake());
    CHECK(first == beast::error::timeout);
    CHECK(second == beast::error::timeout);
    CHECK_FALSE(p.client_tcp.socket().is_open());
}
