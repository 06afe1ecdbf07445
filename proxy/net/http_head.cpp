#include "proxy/net/http_head.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/rfc7230.hpp>

#include <vector>

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

// creditgate's own fields: nobody else may put them on a message that crosses it (a vendor's
// X-Creditgate-Cost next to ours, or a client's reaching the vendor).
bool is_ours(const field_view& f) {
    constexpr std::string_view prefix = "x-creditgate-";
    const std::string_view name = f.name_string();
    return f.name() == http::field::unknown && name.size() >= prefix.size() && beast::iequals(name.substr(0, prefix.size()), prefix);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

}  // namespace

hop_by_hop_filter::hop_by_hop_filter(const flat_fields& fields) {
    auto it = fields.find(http::field::connection);
    if (it == fields.end()) return;
    // Standard tokens (close, keep-alive, upgrade) name fields we drop anyway; keep the rest.
    for (auto token : http::token_list{it->value()}) {
        if (beast::iequals(token, "close") || beast::iequals(token, "keep-alive") || beast::iequals(token, "upgrade"))
            continue;
        connection_tokens_ += ',';
        connection_tokens_ += lower(token);
    }
    if (!connection_tokens_.empty()) connection_tokens_ += ',';
}

bool hop_by_hop_filter::drops(const field_view& field) const {
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

std::string transfer_codings_before_chunked(const flat_fields& fields) {
    std::vector<std::string_view> codings;
    for (const auto& field : fields) {
        if (field.name() != http::field::transfer_encoding) continue;
        for (auto token : http::token_list{field.value()}) codings.emplace_back(token.data(), token.size());
    }
    if (!codings.empty() && beast::iequals(codings.back(), "chunked")) codings.pop_back();
    std::string out;
    for (auto c : codings) {
        if (!out.empty()) out += ", ";
        out += c;
    }
    return out;
}

void append_forwarded_fields(const flat_fields& fields, std::string& out, bool drop_accept_encoding) {
    const hop_by_hop_filter filter(fields);
    std::string_view run;  // kept lines, adjacent in the head's text
    for (const auto& field : fields) {
        if (is_rewritten(field.name()) || filter.drops(field) || is_ours(field)) continue;
        if (drop_accept_encoding && field.name() == http::field::accept_encoding) continue;
        const std::string_view line = field.line();
        if (!run.empty() && run.data() + run.size() == line.data()) {
            run = {run.data(), run.size() + line.size()};
        } else {
            out.append(run);
            run = line;
        }
    }
    out.append(run);
}

void append_via(const flat_fields& fields, unsigned version, std::string& out) {
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
