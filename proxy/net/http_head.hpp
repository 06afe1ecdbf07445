#pragma once
// http_head: writing message heads ourselves, as one contiguous buffer, so that a head and
// the first body bytes leave in one write (Beast's serializer cost 13% of CPU here), and
// the rules for which fields cross the proxy (hop-by-hop ones never do).

#include "proxy/net/flat_message.hpp"

#include <string>
#include <string_view>

namespace creditgate::proxy {

// How a message body is delimited on the wire.
enum class body_framing { none, content_length, chunked, until_close };

// True for hop-by-hop fields (RFC 9110 §7.6.1) and for those the message's Connection
// field lists. Proxy-Authorization is among them: it is ours, never the vendor's.
class hop_by_hop_filter {
public:
    explicit hop_by_hop_filter(const flat_fields& fields);
    bool drops(const field_view& field) const;

private:
    std::string connection_tokens_;  // lower-cased, comma-separated, for rare custom names
};

// Appends "Name: value\r\n" for every end-to-end field, skipping also Host, Via, Expect,
// Content-Length and Transfer-Encoding (the caller writes those as its framing decides),
// X-Creditgate-* (ours alone, SPEC §5), and Accept-Encoding when asked to (the caller writes
// its own). Lines that stay adjacent are copied as one run.
void append_forwarded_fields(const flat_fields& fields, std::string& out, bool drop_accept_encoding = false);

void append_field(std::string& out, std::string_view name, std::string_view value);

// Transfer codings other than the final chunked ("gzip" of "gzip, chunked"), joined by ", ";
// empty when the message has none. creditgate re-frames chunked bodies but keeps other codings.
std::string transfer_codings_before_chunked(const flat_fields& fields);
// Whether the message's Transfer-Encoding is anything but a plain "chunked" (or absent).
inline bool transfer_coded(const flat_fields& fields) { return !transfer_codings_before_chunked(fields).empty(); }

// Via: the previous hops plus ours.
void append_via(const flat_fields& fields, unsigned version, std::string& out);

// Chunk framing for a relayed piece of `size` bytes: "1a2f\r\n".
std::string_view chunk_header(std::size_t size, char (&buf)[24]);
inline constexpr std::string_view chunk_trailer = "\r\n";
inline constexpr std::string_view last_chunk = "0\r\n\r\n";

}  // namespace creditgate::proxy
