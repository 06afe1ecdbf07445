#include "proxy/net/flat_message.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http/error.hpp>

#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

using namespace creditgate::proxy;

namespace {

struct parsed {
    error_code ec;
    bool done = false;
    std::string body;
};

// Feeds `wire` to the parser `piece` bytes at a time, as reads would, with a body buffer of
// `body_room` bytes that is emptied whenever the parser asks for another.
template <bool IsRequest>
parsed feed(flat_parser<IsRequest>& p, std::string_view wire, std::size_t piece, std::size_t body_room) {
    parsed out;
    std::string room(body_room, '\0');
    std::string pending;
    p.eager(true);
    std::size_t offered = 0;
    auto reset_room = [&] {
        p.body().data = room.data();
        p.body().size = room.size();
    };
    auto collect = [&] { out.body.append(room.data(), room.size() - p.body().size); };
    reset_room();
    while (!p.is_done()) {
        if (pending.empty() || out.ec == http::error::need_more) {
            if (offered == wire.size()) {
                if (p.need_eof()) p.put_eof(out.ec);
                else out.ec = http::error::partial_message;
                break;
            }
            const auto n = std::min(piece, wire.size() - offered);
            pending.append(wire.substr(offered, n));
            offered += n;
        }
        out.ec = {};
        const std::size_t used = p.put(asio::buffer(pending), out.ec);
        pending.erase(0, used);
        collect();
        reset_room();
        if (out.ec == http::error::need_buffer) out.ec = {};
        else if (out.ec && out.ec != http::error::need_more) break;
    }
    collect();
    out.done = p.is_done();
    return out;
}

std::vector<std::pair<std::string, std::string>> fields_of(const flat_fields& f) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& field : f) out.emplace_back(field.name_string(), field.value());
    return out;
}

using field_list = std::vector<std::pair<std::string, std::string>>;

}  // namespace

TEST_CASE("requests parse into a flat head, whole or a byte at a time", "[flat]") {
    struct row {
        const char* what;
        std::string wire;
        std::string method;
        http::verb verb;
        std::string target;
        unsigned version;
        bool keep_alive;
        field_list fields;
        std::string body;
    };
    const std::vector<row> rows{
        {"GET with fields, values trimmed",
         "GET http://api.example/v1?q=1 HTTP/1.1\r\nHost: api.example\r\nX-Api-Key:   k1  \r\nAccept: */*\r\n\r\n", "GET",
         http::verb::get, "http://api.example/v1?q=1", 11, true,
         {{"Host", "api.example"}, {"X-Api-Key", "k1"}, {"Accept", "*/*"}}, ""},
        {"HTTP/1.1 with Connection: close",
         "GET /a HTTP/1.1\r\nConnection: close\r\n\r\n", "GET", http::verb::get, "/a", 11, false,
         {{"Connection", "close"}}, ""},
        {"HTTP/1.0 closes unless asked", "GET /a HTTP/1.0\r\n\r\n", "GET", http::verb::get, "/a", 10, false, {}, ""},
        {"HTTP/1.0 with keep-alive", "GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "GET", http::verb::get, "/a",
         10, true, {{"Connection", "keep-alive"}}, ""},
        {"POST with a length", "POST /rpc HTTP/1.1\r\nContent-Length: 11\r\n\r\nhello world", "POST", http::verb::post,
         "/rpc", 11, true, {{"Content-Length", "11"}}, "hello world"},
        {"chunked POST", "POST /u HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\n\r\n",
         "POST", http::verb::post, "/u", 11, true, {{"Transfer-Encoding", "chunked"}}, "hello world"},
        {"an unknown method keeps its name", "BREW /pot HTTP/1.1\r\nX-Tea: earl grey\r\n\r\n", "BREW", http::verb::unknown,
         "/pot", 11, true, {{"X-Tea", "earl grey"}}, ""},
    };
    for (const auto& r : rows) {
        for (std::size_t piece : {std::size_t(1), std::size_t(7), r.wire.size()}) {
            INFO(r.what << ", fed " << piece << " bytes at a time");
            message_head head;
            request_parser p(head);
            const parsed out = feed(p, r.wire, piece, 4);
            REQUIRE_FALSE(out.ec);
            CHECK(out.done);
            CHECK(head.method_string() == r.method);
            CHECK(head.method() == r.verb);
            CHECK(head.target() == r.target);
            CHECK(head.version() == r.version);
            CHECK(head.keep_alive() == r.keep_alive);
            CHECK(fields_of(head) == r.fields);
            CHECK(out.body == r.body);
        }
    }
}

TEST_CASE("responses parse into a flat head with their framing", "[flat]") {
    struct row {
        const char* what;
        std::string wire;
        unsigned status;
        std::string reason;
        bool keep_alive;
        std::string body;
    };
    const std::vector<row> rows{
        {"a length", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nsa-credit-cost: 5\r\n\r\nabc", 200, "OK", true, "abc"},
        {"chunked", "HTTP/1.1 402 Payment Required\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", 402,
         "Payment Required", true, "abc"},
        {"until the connection closes", "HTTP/1.1 200 OK\r\n\r\nall of it", 200, "OK", false, "all of it"},
        {"no reason phrase", "HTTP/1.1 204 \r\n\r\n", 204, "", true, ""},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        message_head head;
        response_parser p(head);
        const parsed out = feed(p, r.wire, 5, 2);
        REQUIRE_FALSE(out.ec);
        CHECK(out.done);
        CHECK(head.result_int() == r.status);
        CHECK(head.reason() == r.reason);
        CHECK(head.keep_alive() == r.keep_alive);
        CHECK(out.body == r.body);
    }
}

TEST_CASE("a flat head finds fields by enum or by any-case name", "[flat]") {
    message_head head;
    response_parser p(head);
    REQUIRE_FALSE(feed(p, "HTTP/1.1 200 OK\r\ncontent-type: a\r\nX-Credits-Balance: 42\r\nVia: 1.1 a\r\nVia: 1.1 b\r\n"
                          "Content-Length: 0\r\n\r\n", 64, 16).ec);
    CHECK(head[http::field::content_type] == "a");
    CHECK(head.find("CONTENT-TYPE")->value() == "a");
    CHECK(head.find("x-credits-balance")->value() == "42");
    CHECK(head.find("X-Missing") == head.end());
    CHECK(head[http::field::accept] == "");
    CHECK(head.find(http::field::via)->value() == "1.1 a");  // the first of repeated fields
    CHECK(head.size() == 5);
}

TEST_CASE("a reused head forgets the last message and survives growing", "[flat]") {
    message_head head;
    {
        // Enough fields to move the text buffer several times while they arrive.
        std::string wire = "GET /first HTTP/1.1\r\n";
        for (int i = 0; i < 200; ++i) wire += "X-Field-" + std::to_string(i) + ": value-" + std::to_string(i) + "\r\n";
        wire += "\r\n";
        request_parser p(head);
        p.header_limit(64 * 1024);
        REQUIRE_FALSE(feed(p, wire, 13, 16).ec);
        REQUIRE(head.size() == 200);
        int i = 0;
        for (const auto& f : head) {
            CHECK(f.name_string() == "X-Field-" + std::to_string(i));
            CHECK(f.value() == "value-" + std::to_string(i));
            CHECK(f.line() == "X-Field-" + std::to_string(i) + ": value-" + std::to_string(i) + "\r\n");
            ++i;
        }
    }
    request_parser p(head);
    REQUIRE_FALSE(feed(p, "PUT /second HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", 100, 16).ec);
    CHECK(head.method() == http::verb::put);
    CHECK(head.target() == "/second");
    CHECK(fields_of(head) == field_list{{"Host", "h"}, {"Content-Length", "0"}});
}

TEST_CASE("the parser's framing checks still refuse bad heads", "[flat]") {
    const std::vector<std::pair<const char*, std::string>> rows{
        {"two lengths", "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"},
        {"a bad length", "POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n"},
        {"a field without a colon", "GET / HTTP/1.1\r\nHost\r\n\r\n"},
        {"a bad version", "GET / HTTP/2.5\r\n\r\n"},
    };
    for (const auto& [what, wire] : rows) {
        INFO(what);
        message_head head;
        request_parser p(head);
        CHECK(feed(p, wire, wire.size(), 16).ec);
    }
}

TEST_CASE("a head already in the buffer is parsed in place; a part of one is left for a read", "[flat]") {
    struct row {
        const char* what;
        std::string buffered;
        bool parsed;               // a result (else: read more)
        bool failed;               // that result is an error
        std::string left;          // what stays in the buffer (once the head is whole)
    };
    const std::string head = "GET http://api.example/ HTTP/1.1\r\nHost: api.example\r\nContent-Length: 3\r\n\r\n";
    const std::string next = "GET / HTTP/1.1\r\nHost: b\r\n\r\n";
    const row rows[] = {
        {"nothing buffered", "", false, false, ""},
        {"a head cut short, then completed", head.substr(0, 40), false, false, "abc"},
        {"a whole head: its body stays for the body reads", head + "abc", true, false, "abc"},
        {"a head and a pipelined request", head + "abc" + next, true, false, "abc" + next},
        {"a malformed head", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", true, true, ""},
    };
    for (const auto& r : rows) {
        INFO(r.what);
        message_head storage;
        request_parser parser(storage);
        beast::flat_buffer buffer;
        buffer.commit(asio::buffer_copy(buffer.prepare(r.buffered.size()), asio::buffer(r.buffered)));
        auto result = parse_buffered_head(parser, buffer);
        REQUIRE(result.has_value() == r.parsed);
        if (!r.parsed) {
            CHECK_FALSE(parser.is_header_done());
            if (r.buffered.empty()) continue;
            // What a read then brings: the parser goes on from where it stopped.
            const std::string rest = head.substr(r.buffered.size()) + "abc";
            buffer.commit(asio::buffer_copy(buffer.prepare(rest.size()), asio::buffer(rest)));
            result = parse_buffered_head(parser, buffer);
            REQUIRE(result.has_value());
        }
        if (r.failed) {
            CHECK(*result);
        } else {
            CHECK_FALSE(*result);
            CHECK(parser.is_header_done());
            CHECK(parser.get().target() == "http://api.example/");
            CHECK(parser.get()[http::field::host] == "api.example");
        }
        if (!r.failed) CHECK(beast::buffers_to_string(buffer.data()) == r.left);
    }
}
