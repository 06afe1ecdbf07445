// A request head from a client, through the parser the proxy uses (Beast's, with the head kept
// flat) and on to the target parsers and the field checks routing does: no crash, no read past
// the input, and what parses is self-consistent.
#include "fuzz_support.hpp"
#include "proxy/net/flat_message.hpp"
#include "proxy/net/http_head.hpp"
#include "policies/request_target.hpp"

#include <boost/asio/buffer.hpp>

using namespace creditgate::proxy;
using creditgate::policies::parse_absolute_target;
using creditgate::policies::parse_connect_target;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
    message_head head;
    request_parser parser(head);
    parser.header_limit(16 * 1024);
    parser.body_limit(boost::none);
    parser.eager(false);
    error_code ec;
    std::size_t used = 0;
    // Fed in two pieces, as a socket would: the parser must not depend on where reads split.
    const std::size_t split = size > 0 ? data[0] % (size + 1) : 0;
    for (auto [from, to] : {std::pair{std::size_t{0}, split}, std::pair{split, size}}) {
        std::size_t at = std::max(from, used);
        while (at < to && !parser.is_header_done()) {
            const std::size_t n = parser.put(boost::asio::buffer(data + at, to - at), ec);
            if (ec == http::error::need_more) {
                ec = {};
                break;
            }
            if (ec || n == 0) break;
            at += n;
        }
        used = at;
        if (ec) break;
    }
    if (ec || !parser.is_header_done()) return 0;
    const auto& req = parser.get();
    std::string line;
    append_forwarded_fields(req, line);
    FUZZ_REQUIRE(line.size() <= size + 64 * req.size());
    (void)transfer_codings_before_chunked(req);
    (void)req.count(http::field::host);
    const std::string_view target = req.target();
    if (auto t = parse_absolute_target(target)) {
        FUZZ_REQUIRE(!t->where.host.empty());
        FUZZ_REQUIRE(!t->origin_form.empty() && t->origin_form.front() == '/');
        FUZZ_REQUIRE(t->path().find('?') == std::string_view::npos);
    }
    if (auto a = parse_connect_target(target)) FUZZ_REQUIRE(a->port > 0 && !a->host.empty());
    return 0;
}
