#include "proxy/exchange/inspection.hpp"

#include "proxy/exchange/call_plan.hpp"
#include "proxy/net/http_head.hpp"

#include <boost/beast/core/string.hpp>

#include <zlib.h>

namespace creditgate::proxy {

std::optional<std::string> inflate_for_inspection(std::string_view encoding, std::string_view bytes, std::size_t limit) {
    int window_bits;
    if (beast::iequals(encoding, "gzip") || beast::iequals(encoding, "x-gzip")) window_bits = 15 + 16;
    else if (beast::iequals(encoding, "deflate")) window_bits = 15 + 32;  // zlib or raw: let zlib detect the header
    else return std::nullopt;
    z_stream z{};
    if (inflateInit2(&z, window_bits) != Z_OK) return std::nullopt;
    std::string out;
    char buffer[16384];
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    z.avail_in = static_cast<uInt>(bytes.size());
    int rc = Z_OK;
    // One chunk past the limit at most: a bomb stops there, and is not complete.
    while (rc == Z_OK && out.size() <= limit) {
        z.next_out = reinterpret_cast<Bytef*>(buffer);
        z.avail_out = sizeof buffer;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buffer, sizeof buffer - z.avail_out);
        if (rc == Z_BUF_ERROR) break;  // the input ended before the stream did
    }
    inflateEnd(&z);
    // Only a whole stream within the limit is the body: a truncated, corrupt or oversized one is not.
    if (rc != Z_STREAM_END || out.size() > limit) return std::nullopt;
    return out;
}

policies::settlement settle_answer(const policies::vendor_profile& vendor, const policies::metered_call& call, unsigned status,
                                   const flat_fields& head, std::string_view body, bool body_complete, std::size_t limit) {
    std::string inflated;
    if (!body.empty()) {
        const std::string_view coding = head[http::field::content_encoding];
        if (!coding.empty() && !beast::iequals(coding, "identity")) {
            auto decoded = inflate_for_inspection(coding, body, limit);
            if (!decoded) body_complete = false;
            inflated = std::move(decoded).value_or(std::string());
            body = inflated;
        }
        if (transfer_coded(head)) body_complete = false;  // "gzip, chunked": the bytes are still coded
    }
    nlohmann::json parsed;
    const bool wants_json = vendor.response.reads_body() && !body.empty() && body_complete;
    if (wants_json) parsed = nlohmann::json::parse(body, nullptr, false);
    policies::response_facts facts;
    facts.status = status;
    facts.header = lookup_in(head);
    facts.body = body;
    facts.body_json = wants_json && !parsed.is_discarded() ? &parsed : nullptr;
    // A body that is whole but not JSON is still an answer (rule 4 sees no success flag in it);
    // one we could not read whole says nothing, and the call settles at its estimate.
    facts.body_complete = body_complete;
    return policies::settle_cost(vendor, call.estimate(), facts, call.balance());
}

}  // namespace creditgate::proxy
