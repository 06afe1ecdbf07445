#pragma once
// flat_message: a parsed HTTP head kept as the lines it arrived as, for the proxy's data path.
//
// Beast's http::parser keeps fields in basic_fields: one allocation per field, each linked
// into a case-insensitive ordered tree and a list. For heads the proxy only scans and copies
// on, that was ~9% of the worker's instructions (callgrind: insert, iless, new/delete).
// Here a head is one text buffer of "Name: value\r\n" lines plus a vector of views into it;
// a connection reuses both for all its requests, so steady state allocates nothing, and
// forwarding a kept field is one copy of its line. Beast's basic_parser still does the
// parsing and the framing checks (Content-Length, Transfer-Encoding, chunked decoding).

#include "proxy/net/http_io.hpp"

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/field.hpp>
#include <boost/beast/http/verb.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::proxy {

// One field of a flat head. Views stay valid until the head is cleared or grows.
class field_view {
public:
    http::field name() const { return id_; }
    std::string_view name_string() const { return name_; }
    std::string_view value() const { return value_; }
    // "Name: value\r\n", as it is forwarded.
    std::string_view line() const { return {name_.data(), name_.size() + 2 + value_.size() + 2}; }

private:
    friend class flat_fields;
    http::field id_ = http::field::unknown;
    std::string_view name_;
    std::string_view value_;
    std::uint32_t offset_ = 0;  // of the line in the text, to re-point the views when it moves
};

// The fields of one head, in arrival order. Lookups are linear: heads have a dozen fields,
// and a scan of a dozen enum values beats a tree walk of string compares.
class flat_fields {
public:
    using value_type = field_view;
    using const_iterator = std::vector<field_view>::const_iterator;

    const_iterator begin() const { return views_.begin(); }
    const_iterator end() const { return views_.end(); }
    std::size_t size() const { return views_.size(); }

    const_iterator find(http::field id) const;
    std::size_t count(http::field id) const;
    const_iterator find(std::string_view name) const;  // case-insensitive
    // The first value of a field, or empty.
    std::string_view operator[](http::field id) const;

    void insert(http::field id, std::string_view name, std::string_view value);
    void insert(std::string_view name, std::string_view value) { insert(http::string_to_field(name), name, value); }
    void clear();  // keeps the capacity

private:
    void repoint();

    std::string text_;
    std::vector<field_view> views_;
};

// A parsed head: start line and fields. Requests use method/target, responses status/reason.
class message_head : public flat_fields {
public:
    http::verb method() const { return method_; }
    std::string_view method_string() const { return {start_.data(), method_size_}; }
    std::string_view target() const { return std::string_view(start_).substr(method_size_); }
    unsigned result_int() const { return status_; }
    std::string_view reason() const { return start_; }
    unsigned version() const { return version_; }
    // Beast's rule: HTTP/1.1 unless "Connection: close", HTTP/1.0 only with "keep-alive",
    // and never when the body ends with the connection.
    bool keep_alive() const { return keep_alive_; }

    void set_request(http::verb method, std::string_view method_string, std::string_view target, unsigned version);
    void set_response(unsigned status, std::string_view reason, unsigned version);
    void set_keep_alive(bool on) { keep_alive_ = on; }
    void clear();

private:
    std::string start_;  // method + target, or the reason phrase
    std::size_t method_size_ = 0;
    http::verb method_ = http::verb::unknown;
    unsigned status_ = 0;
    unsigned version_ = 11;
    bool keep_alive_ = false;
};

// Beast's parser with the head stored flat in a message_head the caller owns (and reuses),
// and the body handed over like buffer_body: into the caller's buffer, `need_buffer` when full.
template <bool IsRequest>
class flat_parser final : public http::basic_parser<IsRequest> {
public:
    explicit flat_parser(message_head& head) : head_(head) { head_.clear(); }

    message_head& get() { return head_; }
    const message_head& get() const { return head_; }
    // Where the next body bytes go; data/size advance as they arrive.
    http::buffer_body::value_type& body() { return body_; }

private:
    void on_request_impl(http::verb method, beast::string_view method_string, beast::string_view target, int version,
                         error_code&) override {
        head_.set_request(method, method_string, target, static_cast<unsigned>(version));
    }
    void on_response_impl(int status, beast::string_view reason, int version, error_code&) override {
        head_.set_response(static_cast<unsigned>(status), reason, static_cast<unsigned>(version));
    }
    void on_field_impl(http::field id, beast::string_view name, beast::string_view value, error_code&) override {
        head_.insert(id, name, value);
    }
    void on_header_impl(error_code&) override { head_.set_keep_alive(this->keep_alive()); }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
    std::size_t on_body_impl(beast::string_view bytes, error_code& ec) override { return take(bytes, ec); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view bytes, error_code& ec) override {
        return take(bytes, ec);
    }
    void on_finish_impl(error_code&) override {}

    std::size_t take(beast::string_view bytes, error_code& ec);

    message_head& head_;
    http::buffer_body::value_type body_;
};

using request_parser = flat_parser<true>;
using response_parser = flat_parser<false>;

extern template class flat_parser<true>;
extern template class flat_parser<false>;

// Parses a head that is already whole in `buffer`, as http::async_read_header would, but in
// place: Beast posts the completion of a read that needed no I/O through the scheduler (a
// handler round trip per keep-alive request, whose head the connection's idle read brought).
// Returns nothing when the head needs more bytes: then read it as usual.
template <bool IsRequest>
std::optional<error_code> parse_buffered_head(flat_parser<IsRequest>& parser, beast::flat_buffer& buffer) {
    parser.eager(false);
    error_code ec;
    while (buffer.size() != 0 && !parser.is_header_done()) {
        const std::size_t used = parser.put(buffer.data(), ec);
        buffer.consume(used);
        if (ec == http::error::need_more || (!ec && used == 0)) return std::nullopt;
        if (ec) return ec;
    }
    if (parser.is_header_done()) return error_code{};
    return std::nullopt;
}

}  // namespace creditgate::proxy
