#include "proxy/exchange/exchange_heads.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <charconv>

namespace creditgate::proxy {
namespace {

void append_number(std::string& out, std::uint64_t n) {
    char digits[20];
    const auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, static_cast<std::size_t>(end - digits));
}

// `codings`: transfer codings the body keeps under our chunking ("gzip" of "gzip, chunked").
void append_framing(std::string& head, body_framing framing, std::optional<std::uint64_t> length,
                    std::string_view codings = {}) {
    if (framing == body_framing::chunked) {
        head += "Transfer-Encoding: ";
        if (!codings.empty()) {
            head += codings;
            head += ", ";
        }
        head += "chunked\r\n";
    } else if (length && framing != body_framing::until_close) {
        head += "Content-Length: ";
        append_number(head, *length);
        head += "\r\n";
    }
}

// Codings we cannot inflate for inspection are not offered to vendors whose answers we read.
std::string readable_codings(std::string_view accept_encoding) {
    std::string out;
    for (auto token : http::token_list{accept_encoding}) {
        const std::string_view t(token.data(), token.size());
        const std::string_view name = t.substr(0, t.find(';'));
        if (beast::iequals(name, "br") || beast::iequals(name, "zstd")) continue;
        if (!out.empty()) out += ", ";
        out += t;
    }
    return out;
}

}  // namespace

std::string request_head(const request_parser& parser, const policies::vendor_profile& vendor, const dial_target& d,
                         const request_shape& shape) {
    const auto& req = parser.get();
    std::string head;
    head.reserve(512);
    head.append(req.method_string());
    head += ' ';
    head += shape.origin_form;
    head += " HTTP/1.1\r\nHost: ";
    head += d.host;
    if (d.port != (d.tls ? 443 : 80)) {
        head += ':';
        append_number(head, d.port);
    }
    head += "\r\n";
    append_forwarded_fields(req, head, shape.strip_unreadable_codings);
    if (shape.strip_unreadable_codings) {
        std::string offered;
        for (const auto& field : req) {
            if (field.name() != http::field::accept_encoding) continue;
            const std::string codings = readable_codings(field.value());
            if (codings.empty()) continue;
            if (!offered.empty()) offered += ", ";
            offered += codings;
        }
        if (!offered.empty()) append_field(head, "Accept-Encoding", offered);
    }
    if (shape.injected_header_key && *shape.injected_header_key && !vendor.auth.empty()) {
        const auto& source = vendor.auth.front();
        if (source.where == policies::auth_source::kind::header) append_field(head, source.name, **shape.injected_header_key);
        if (source.where == policies::auth_source::kind::bearer) append_field(head, "Authorization", "Bearer " + **shape.injected_header_key);
    }
    append_via(req, req.version(), head);
    append_framing(head, shape.framing, shape.length);
    head += "\r\n";
    return head;
}

response_framing choose_framing(const response_parser& p, bool head_request, unsigned client_version) {
    const unsigned status = p.get().result_int();
    body_framing upstream;
    if (head_request || status == 204 || status == 304 || status < 200) upstream = body_framing::none;
    else if (p.chunked()) upstream = body_framing::chunked;
    else if (p.content_length()) upstream = body_framing::content_length;
    else upstream = body_framing::until_close;

    body_framing client = upstream;
    if (upstream == body_framing::chunked && client_version < 11) client = body_framing::until_close;
    if (upstream == body_framing::until_close && client_version >= 11) client = body_framing::chunked;  // keeps the client connection
    return {upstream, client};
}

std::string response_head(const response_parser& p, response_framing framing, const exchange_record& record,
                          unsigned client_version, bool keep_alive, const metering_headers& m) {
    const auto& res = p.get();
    std::string head;
    head.reserve(512);
    head += client_version < 11 ? "HTTP/1.0 " : "HTTP/1.1 ";
    append_number(head, res.result_int());
    head += ' ';
    head.append(res.reason());
    head += "\r\n";
    append_forwarded_fields(res, head);
    append_via(res, res.version(), head);
    if (framing.upstream == body_framing::none) {
        // HEAD and 304 answers keep the length of the body they describe.
        if (auto it = res.find(http::field::content_length); it != res.end()) append_field(head, "Content-Length", it->value());
    } else {
        // A vendor's coding other than chunked ("gzip, chunked") stays with the body it codes.
        append_framing(head, framing.client, to_std(p.content_length()), transfer_codings_before_chunked(res));
    }
    if (m.cost) append_field(head, "X-Creditgate-Cost", m.cost->to_string());
    append_field(head, "X-Creditgate-Request-Id", record.request_id);
    if (m.warnings)
        for (const auto& w : *m.warnings) append_field(head, "X-Creditgate-Warning", w);
    if (m.out_of_credit) append_field(head, "X-Creditgate-Error", "upstream_credits_exhausted");
    if (!keep_alive) append_field(head, "Connection", "close");
    else if (client_version < 11) append_field(head, "Connection", "keep-alive");
    head += "\r\n";
    return head;
}

// Body bytes we already hold, framed for the client.
void append_framed(std::string& out, std::string_view bytes, body_framing framing, bool last) {
    if (framing == body_framing::chunked) {
        if (!bytes.empty()) {
            char buf[24];
            out += chunk_header(bytes.size(), buf);
            out += bytes;
            out += chunk_trailer;
        }
        if (last) out += last_chunk;
    } else if (framing != body_framing::none) {
        out += bytes;
    }
}

}  // namespace creditgate::proxy
