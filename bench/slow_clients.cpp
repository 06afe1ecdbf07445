// slow_clients: N scrapers at once, each on its own intercepted keep-alive connection (issue 22).
// Each connection: CONNECT host:443 through the proxy (Proxy-Authorization Basic), a TLS
// handshake trusting the proxy's CA, then GET after GET on that one connection, each waiting for
// its answer. Without --proxy it connects straight to the vendor (the direct baseline).
//
//   slow_clients --target HOST:PORT --host api.slow.bench --ca CA.pem --connections N --seconds S
//                [--proxy HOST:PORT --auth user:secret] [--plain 1] [--connect-to HOST:PORT]
//                [--threads T] [--idle S2]
//
// Phases: all N connect and handshake (ramp, `--ramp-per-s` connections a second, default
// 2000), then each loops requests for --seconds, then (with --idle) all stay open and quiet for
// --idle seconds — the time to read the proxy's memory per idle connection. Prints one line:
//   RESULT connections=.. connected=.. requests=.. errors=.. p50_ms=.. p99_ms=.. max_ms=..
// and "IDLE" on stdout when the idle phase starts (a script waits for it).
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
    std::string target_host, target_port, proxy_host, proxy_port, auth_header, host, ca;
    std::string connect_to;  // the CONNECT authority; default host:443 (peers: the vendor's real port)
    int connections = 100, seconds = 10, idle = 0, ramp_per_s = 2000;
    bool plain = false;  // absolute-form GETs over plain HTTP to the proxy (no CONNECT, no client TLS)
    unsigned threads = 1;
};

struct totals {
    std::atomic<std::int64_t> connected{0}, requests{0}, errors{0}, done{0};
    std::mutex m;
    std::vector<std::uint32_t> latencies_us;  // every request's
};

std::string base64(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3), '\0');
    EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                    static_cast<int>(in.size()));
    return out;
}

void split(const std::string& hp, std::string& host, std::string& port) {
    const auto colon = hp.rfind(':');
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
}

// Call after call on one connection until stop_at, then (unless it broke) quiet until idle_until.
// `target` is what the request line names; `proxy_auth` adds Proxy-Authorization (plain mode).
template <class Stream>
asio::awaitable<void> call_loop(Stream& stream, beast::flat_buffer& buffer, const options& o, totals& t,
                                const std::string& target, bool proxy_auth, clock_type::time_point stop_at,
                                clock_type::time_point idle_until) {
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    std::vector<std::uint32_t> mine;
    while (clock_type::now() < stop_at) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, o.host);
        if (proxy_auth) req.set(http::field::proxy_authorization, o.auth_header);
        const auto t0 = clock_type::now();
        co_await http::async_write(stream, req, token);
        http::response<http::string_body> res;
        if (!ec) co_await http::async_read(stream, buffer, res, token);
        if (ec || res.result() != http::status::ok) {
            ++t.errors;
            break;
        }
        mine.push_back(static_cast<std::uint32_t>(std::chrono::duration_cast<std::chrono::microseconds>(clock_type::now() - t0).count()));
        ++t.requests;
        if (!res.keep_alive()) break;
    }
    {
        std::lock_guard lock(t.m);
        t.latencies_us.insert(t.latencies_us.end(), mine.begin(), mine.end());
    }
    ++t.done;
    if (!ec && clock_type::now() < idle_until) {  // stay open and quiet
        asio::steady_timer timer(co_await asio::this_coro::executor, idle_until);
        co_await timer.async_wait(token);
    }
}

// --plain: the client leg is plain HTTP (the proxy still speaks TLS to the vendor).
asio::awaitable<void> one_plain_client(const options& o, totals& t, int index, clock_type::time_point stop_at,
                                       clock_type::time_point idle_until) {
    auto ex = co_await asio::this_coro::executor;
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(o.proxy_host, o.proxy_port, token);
    tcp::socket socket(ex);
    if (!ec) co_await asio::async_connect(socket, endpoints, token);
    if (ec) { ++t.errors; ++t.done; co_return; }
    ++t.connected;
    beast::flat_buffer buffer;
    const std::string url = "http://" + o.host + "/?api_key=SLOW-KEY&url=https://example.com/" + std::to_string(index);
    co_await call_loop(socket, buffer, o, t, url, true, stop_at, idle_until);
}

asio::awaitable<void> one_client(const options& o, ssl::context& tls, totals& t, int index, clock_type::time_point stop_at,
                                 clock_type::time_point idle_until) {
    auto ex = co_await asio::this_coro::executor;
    beast::error_code ec;
    auto token = asio::redirect_error(asio::use_awaitable, ec);
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(o.proxy_host.empty() ? o.target_host : o.proxy_host,
                                                     o.proxy_host.empty() ? o.target_port : o.proxy_port, token);
    if (ec) { ++t.errors; ++t.done; co_return; }
    ssl::stream<tcp::socket> stream(ex, tls);
    co_await asio::async_connect(stream.next_layer(), endpoints, token);
    if (ec) { ++t.errors; ++t.done; co_return; }
    beast::flat_buffer buffer;
    if (!o.proxy_host.empty()) {
        const std::string authority = o.connect_to.empty() ? o.host + ":443" : o.connect_to;
        http::request<http::empty_body> connect{http::verb::connect, authority, 11};
        connect.set(http::field::host, authority);
        connect.set(http::field::proxy_authorization, o.auth_header);
        co_await http::async_write(stream.next_layer(), connect, token);
        http::response_parser<http::empty_body> parser;
        parser.skip(true);  // a CONNECT answer has no body
        if (!ec) co_await http::async_read_header(stream.next_layer(), buffer, parser, token);
        if (ec || parser.get().result() != http::status::ok) { ++t.errors; ++t.done; co_return; }
    }
    SSL_set_tlsext_host_name(stream.native_handle(), o.host.c_str());
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(o.host));
    co_await stream.async_handshake(ssl::stream_base::client, token);
    if (ec) { ++t.errors; ++t.done; co_return; }
    ++t.connected;

    const std::string path = "/?api_key=SLOW-KEY&url=https://example.com/" + std::to_string(index);
    co_await call_loop(stream, buffer, o, t, path, false, stop_at, idle_until);
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    std::string target, proxy, auth;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i], v = argv[i + 1];
        if (a == "--target") target = v;
        else if (a == "--proxy") proxy = v;
        else if (a == "--auth") auth = v;
        else if (a == "--host") o.host = v;
        else if (a == "--ca") o.ca = v;
        else if (a == "--connections") o.connections = std::stoi(v);
        else if (a == "--seconds") o.seconds = std::stoi(v);
        else if (a == "--idle") o.idle = std::stoi(v);
        else if (a == "--threads") o.threads = static_cast<unsigned>(std::stoi(v));
        else if (a == "--ramp-per-s") o.ramp_per_s = std::stoi(v);
        else if (a == "--plain") o.plain = v == "1";
        else if (a == "--connect-to") o.connect_to = v;
    }
    split(target, o.target_host, o.target_port);
    if (!proxy.empty()) split(proxy, o.proxy_host, o.proxy_port);
    o.auth_header = "Basic " + base64(auth);

    ssl::context tls(ssl::context::tls_client);
    tls.load_verify_file(o.ca);
    SSL_CTX_set_mode(tls.native_handle(), SSL_MODE_RELEASE_BUFFERS);

    totals t;
    asio::io_context io;
    // The ramp is part of the run: the requests phase starts once everyone had time to connect.
    const double ramp_s = static_cast<double>(o.connections) / o.ramp_per_s;
    const auto stop_at = clock_type::now() + std::chrono::milliseconds(static_cast<int>(ramp_s * 1000)) + std::chrono::seconds(o.seconds);
    const auto idle_until = stop_at + std::chrono::seconds(o.idle);
    asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        asio::steady_timer pace(io);
        for (int i = 0; i < o.connections; ++i) {
            if (o.plain) asio::co_spawn(io, one_plain_client(o, t, i, stop_at, idle_until), asio::detached);
            else asio::co_spawn(io, one_client(o, tls, t, i, stop_at, idle_until), asio::detached);
            if (i % 100 == 99) {  // 100 at a time, at the ramp's pace
                pace.expires_after(std::chrono::microseconds(static_cast<int>(100'000'000.0 / o.ramp_per_s)));
                co_await pace.async_wait(asio::use_awaitable);
            }
        }
    }, asio::detached);
    std::thread announcer([&] {
        std::this_thread::sleep_until(stop_at + std::chrono::milliseconds(500));
        while (t.done.load() < o.connections && clock_type::now() < idle_until) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        if (o.idle > 0) {
            std::printf("IDLE\n");
            std::fflush(stdout);
        }
    });
    std::vector<std::thread> pool;
    for (unsigned i = 1; i < o.threads; ++i) pool.emplace_back([&] { io.run(); });
    io.run();
    for (auto& th : pool) th.join();
    announcer.join();

    auto& l = t.latencies_us;
    std::sort(l.begin(), l.end());
    auto pct = [&](double p) { return l.empty() ? 0.0 : l[std::min(l.size() - 1, static_cast<std::size_t>(p * l.size()))] / 1000.0; };
    std::printf("RESULT connections=%d connected=%lld requests=%lld errors=%lld p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
                o.connections, static_cast<long long>(t.connected.load()), static_cast<long long>(t.requests.load()),
                static_cast<long long>(t.errors.load()), pct(0.50), pct(0.99), l.empty() ? 0.0 : l.back() / 1000.0);
}
