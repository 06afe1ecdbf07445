// slow_vendor: a vendor that takes its time (issue 22). HTTPS, HTTP/1.1 keep-alive; every
// request is answered after --delay-ms with a small body and `sa-credit-cost: 1`, the way a
// rendering scraping API answers after seconds. Python cannot hold 10k connections; one Asio
// thread can. GET /stats answers at once with what it billed, for the ledger's exactness check.
//
//   slow_vendor --cert C --key K [--port 0] [--delay-ms 2000] [--threads 1]
//   prints "listening PORT", then serves until killed.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

std::atomic<std::uint64_t> billed{0};
std::atomic<std::int64_t> open_connections{0};

asio::awaitable<void> serve(ssl::stream<tcp::socket> stream, std::chrono::milliseconds delay) {
    ++open_connections;
    struct leave { ~leave() { --open_connections; } } left;
    beast::error_code ec;
    co_await stream.async_handshake(ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    beast::flat_buffer buffer;
    asio::steady_timer timer(stream.get_executor());
    for (;;) {
        http::request<http::empty_body> req;
        co_await http::async_read(stream, buffer, req, asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "application/json");
        if (req.target() == "/stats") {
            res.body() = "{\"billed\":" + std::to_string(billed.load()) + ",\"open\":" + std::to_string(open_connections.load()) + "}";
        } else {
            timer.expires_after(delay);
            co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
            billed.fetch_add(1, std::memory_order_relaxed);
            res.set("sa-credit-cost", "1");
            res.body() = "{\"html\":\"<html><body>rendered after a while</body></html>\"}";
        }
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        co_await http::async_write(stream, res, asio::redirect_error(asio::use_awaitable, ec));
        if (ec || !res.keep_alive()) co_return;
    }
}

asio::awaitable<void> accept(tcp::acceptor& acceptor, ssl::context& tls, std::chrono::milliseconds delay) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
        if (ec) continue;  // EMFILE and the like: the next accept may do better
        auto ex = socket.get_executor();
        asio::co_spawn(ex, serve(ssl::stream<tcp::socket>(std::move(socket), tls), delay), asio::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string cert, key;
    unsigned short port = 0;
    int delay_ms = 2000;
    unsigned threads = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--cert")) cert = argv[i + 1];
        else if (!std::strcmp(argv[i], "--key")) key = argv[i + 1];
        else if (!std::strcmp(argv[i], "--port")) port = static_cast<unsigned short>(std::atoi(argv[i + 1]));
        else if (!std::strcmp(argv[i], "--delay-ms")) delay_ms = std::atoi(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--threads")) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    }
    ssl::context tls(ssl::context::tls_server);
    tls.use_certificate_chain_file(cert);
    tls.use_private_key_file(key, ssl::context::pem);
    SSL_CTX_set_session_cache_mode(tls.native_handle(), SSL_SESS_CACHE_SERVER);
    SSL_CTX_set_mode(tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);  // 10k idle connections here too

    asio::io_context io;
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), port});
    acceptor.listen(8192);
    std::printf("listening %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::co_spawn(io, accept(acceptor, tls, std::chrono::milliseconds(delay_ms)), asio::detached);
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < threads; ++i) pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& t : pool) t.join();
}
