#include "proxy/http_head.hpp"

#include <boost/beast/core/string.hpp>

namespace creditgate::proxy {
namespace {

bool is_hop_by_hop(http::field f) {
    switch (f) {
        case http::field::connection:
        case http::field::keep_alive:
        case http::field::proxy_connection:
        case http::field::proxy_authenticate:
        case http::field::proxy_authorization:
        case http::field::te:
        case http::field::trailer:
        case http::field::transfer_encoding:
        case http::field::upgrade:
            return true;
        default:
            return false;
    }
}

// Fields we always write ourselves.
bool is_rewritten(http::field f) {
    return f == http::field::host || f == http::field::via || f == http::field::expect ||
           f == http::field::content_length;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

body_framing framing_of(const http::fields& fields, bool is_request, bool parser_chunked, bool has_length) {
    if (parser_chunked) return body_framing::chunked;
    if (has_length) return body_framing::content_length;
    if (is_request) return body_framing::none;
    return body_framing::until_close;
}

hop_by_hop_filter::hop_by_hop_filter(const http::fields& fields) {
    auto it = fields.find(http::field::connection);
    if (it == fields.end()) return;
    // Standard tokens (close, keep-alive, upgrade) name fields we drop anyway; keep the rest.
    for (auto token : http::token_list{it->value()}) {
        std::string t = lower(token);
        if (t == "close" || t == "keep-alive" || t == "upgrade") continue;
        connection_tokens_ += ',';
        connection_tokens_ += t;
    }
    if (!connection_tokens_.empty()) connection_tokens_ += ',';
}

bool hop_by_hop_filter::drops(const http::fields::value_type& field) const {
    if (is_hop_by_hop(field.name())) return true;
    if (connection_tokens_.empty()) return false;
    std::string needle(1, ',');
    needle += lower(field.name_string());
    needle += ',';
    return connection_tokens_.find(needle) != std::string::npos;
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
    out.append(name);
    out.append(": ");
    out.append(value);
    out.append("\r\n");
}

void append_forwarded_fields(const http::fields& fields, std::string& out) {
    const hop_by_hop_filter filter(fields);
    for (const auto& field : fields) {
        if (is_rewritten(field.name()) || filter.drops(field)) continue;
        append_field(out, field.name_string(), field.value());
    }
}

void append_via(const http::fields& fields, unsigned version, std::string& out) {
    const std::string_view ours = version == 10 ? "1.0 creditgate" : "1.1 creditgate";
    std::string value;
    for (const auto& field : fields) {
        if (field.name() != http::field::via) continue;
        value.append(field.value());
        value.append(", ");
    }
    value.append(ours);
    append_field(out, "Via", value);
}

std::string_view chunk_header(std::size_t size, char (&buf)[24]) {
    static constexpr char digits[] = "0123456789abcdef";
    char* end = buf + sizeof buf;
    char* p = end;
    *--p = '\n';
    *--p = '\r';
    do {
        *--p = digits[size & 0xf];
        size >>= 4;
    } while (size != 0);
    return {p, static_cast<std::size_t>(end - p)};
}

}  // namespace creditgate::proxy
