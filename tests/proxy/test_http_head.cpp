#include "proxy/http_head.hpp"
#include "proxy/refusal.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::proxy;

TEST_CASE("hop-by-hop fields never cross the proxy", "[head]") {
    flat_fields f;
    f.insert("Connection", "keep-alive, X-Private-Hop");
    f.insert("Keep-Alive", "timeout=5");
    f.insert("Proxy-Authorization", "Basic secret");
    f.insert("Proxy-Connection", "keep-alive");
    f.insert("TE", "trailers");
    f.insert("X-Multi", "1");
    f.insert("Upgrade", "websocket");
    f.insert("x-private-hop", "1");
    f.insert("Host", "old");
    f.insert("Content-Length", "5");
    f.insert("Accept", "*/*");
    f.insert("X-Multi", "2");
    f.insert("Accept-Encoding", "gzip, br");
    std::string out;
    append_forwarded_fields(f, out);
    CHECK(out == "X-Multi: 1\r\nAccept: */*\r\nX-Multi: 2\r\nAccept-Encoding: gzip, br\r\n");
    out.clear();
    append_forwarded_fields(f, out, true);
    CHECK(out == "X-Multi: 1\r\nAccept: */*\r\nX-Multi: 2\r\n");
}

TEST_CASE("Via appends our hop", "[head]") {
    flat_fields f;
    std::string out;
    append_via(f, 11, out);
    CHECK(out == "Via: 1.1 creditgate\r\n");
    f.insert("Via", "1.0 corp-proxy");
    out.clear();
    append_via(f, 10, out);
    CHECK(out == "Via: 1.0 corp-proxy, 1.0 creditgate\r\n");
}

TEST_CASE("chunk headers are hex", "[head]") {
    char buf[24];
    CHECK(chunk_header(0, buf) == "0\r\n");
    CHECK(chunk_header(16384, buf) == "4000\r\n");
    CHECK(chunk_header(0xabcdef, buf) == "abcdef\r\n");
}

TEST_CASE("refusals are JSON with their code in a header", "[refusal]") {
    refusal r = make_refusal(429, "rate_limited", "slow down");
    r.retry_after_s = 0;  // never below one second
    const std::string text = render_refusal(r, "req-1", 11, true);
    CHECK(text.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
    CHECK(text.find("X-Creditgate-Error: rate_limited\r\n") != std::string::npos);
    CHECK(text.find("Retry-After: 1\r\n") != std::string::npos);
    CHECK(text.find("X-Creditgate-Request-Id: req-1\r\n") != std::string::npos);
    const auto body = nlohmann::json::parse(text.substr(text.find("\r\n\r\n") + 4));
    CHECK(body["error"]["code"] == "rate_limited");
    CHECK(body["error"]["retry_after_s"] == 1);

    const std::string auth = render_refusal(make_refusal(407, "proxy_auth_required", "who?"), "", 11, false);
    CHECK(auth.find("Proxy-Authenticate: Basic realm=\"creditgate\"\r\n") != std::string::npos);
    CHECK(auth.find("Connection: close\r\n") != std::string::npos);
}
