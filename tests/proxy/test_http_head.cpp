#include "proxy/net/http_head.hpp"
#include "proxy/exchange/refusal.hpp"

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
    refusal r = make_refusal(creditgate::policies::refusal_code::rate_limited, "slow down");
    r.retry_after_s = 0;  // never below one second
    const std::string text = render_refusal(r, "req-1", 11, true);
    CHECK(text.rfind("HTTP/1.1 429 Too Many Requests\r\n", 0) == 0);
    CHECK(text.find("X-Creditgate-Error: rate_limited\r\n") != std::string::npos);
    CHECK(text.find("Retry-After: 1\r\n") != std::string::npos);
    CHECK(text.find("X-Creditgate-Request-Id: req-1\r\n") != std::string::npos);
    const auto body = nlohmann::json::parse(text.substr(text.find("\r\n\r\n") + 4));
    CHECK(body["error"]["code"] == "rate_limited");
    CHECK(body["error"]["retry_after_s"] == 1);

    const std::string auth = render_refusal(make_refusal(creditgate::policies::refusal_code::proxy_auth_required, "who?"), "", 11, false);
    CHECK(auth.find("Proxy-Authenticate: Basic realm=\"creditgate\"\r\n") != std::string::npos);
    CHECK(auth.find("Connection: close\r\n") != std::string::npos);
}

TEST_CASE("X-Creditgate-* fields are ours alone", "[head][hostile]") {
    flat_fields f;
    f.insert("X-Creditgate-Cost", "999");
    f.insert("x-creditgate-request-id", "forged");
    f.insert("X-CreditGate-Max-Cost", "5");
    f.insert("X-Creditgatex", "kept: not our prefix");
    f.insert("Accept", "*/*");
    std::string out;
    append_forwarded_fields(f, out);
    CHECK(out == "X-Creditgatex: kept: not our prefix\r\nAccept: */*\r\n");
}

TEST_CASE("transfer codings other than the final chunked are kept apart", "[head][hostile]") {
    struct row { std::vector<const char*> values; const char* codings; };
    const row rows[] = {
        {{"chunked"}, ""},
        {{"Chunked"}, ""},
        {{"gzip, chunked"}, "gzip"},
        {{"gzip", "chunked"}, "gzip"},          // split over two fields
        {{"chunked, chunked"}, "chunked"},      // chunked twice is a coding too
        {{"gzip"}, "gzip"},                     // not chunked at all: the body ends with the connection
        {{}, ""},
    };
    for (const auto& r : rows) {
        flat_fields f;
        for (const char* v : r.values) f.insert("Transfer-Encoding", v);
        INFO((r.values.empty() ? "(none)" : r.values.front()));
        CHECK(transfer_codings_before_chunked(f) == r.codings);
        CHECK(transfer_coded(f) == (std::string_view(r.codings) != ""));
    }
}

TEST_CASE("a field counted twice", "[head][hostile]") {
    flat_fields f;
    f.insert("Host", "a");
    f.insert("host", "b");
    f.insert("Proxy-Authorization", "x");
    CHECK(f.count(http::field::host) == 2);
    CHECK(f.count(http::field::proxy_authorization) == 1);
    CHECK(f.count(http::field::via) == 0);
}
