#include "proxy/net/flat_message.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>
#include <cstring>

namespace creditgate::proxy {

flat_fields::const_iterator flat_fields::find(http::field id) const {
    return std::find_if(views_.begin(), views_.end(), [id](const field_view& f) { return f.id_ == id; });
}

std::size_t flat_fields::count(http::field id) const {
    return static_cast<std::size_t>(std::count_if(views_.begin(), views_.end(), [id](const field_view& f) { return f.id_ == id; }));
}

flat_fields::const_iterator flat_fields::find(std::string_view name) const {
    const http::field id = http::string_to_field(name);
    if (id != http::field::unknown) return find(id);
    return std::find_if(views_.begin(), views_.end(),
                        [name](const field_view& f) { return f.id_ == http::field::unknown && beast::iequals(f.name_, name); });
}

std::string_view flat_fields::operator[](http::field id) const {
    auto it = find(id);
    return it == end() ? std::string_view() : it->value();
}

void flat_fields::insert(http::field id, std::string_view name, std::string_view value) {
    const char* before = text_.data();
    const std::size_t at = text_.size();
    text_.resize(at + name.size() + 2 + value.size() + 2);  // one size check, then plain copies
    char* p = text_.data() + at;
    std::memcpy(p, name.data(), name.size());
    std::memcpy(p + name.size(), ": ", 2);
    if (!value.empty()) std::memcpy(p + name.size() + 2, value.data(), value.size());
    std::memcpy(p + name.size() + 2 + value.size(), "\r\n", 2);
    field_view f;
    f.id_ = id;
    f.offset_ = static_cast<std::uint32_t>(at);
    f.name_ = {p, name.size()};
    f.value_ = {p + name.size() + 2, value.size()};
    views_.push_back(f);
    if (text_.data() != before) repoint();
}

void flat_fields::repoint() {
    const char* base = text_.data();
    for (auto& f : views_) {
        f.name_ = {base + f.offset_, f.name_.size()};
        f.value_ = {base + f.offset_ + f.name_.size() + 2, f.value_.size()};
    }
}

void flat_fields::clear() {
    text_.clear();
    views_.clear();
}

void message_head::set_request(http::verb method, std::string_view method_string, std::string_view target,
                               unsigned version) {
    method_ = method;
    method_size_ = method_string.size();
    start_.assign(method_string);
    start_.append(target);
    version_ = version;
}

void message_head::set_response(unsigned status, std::string_view reason, unsigned version) {
    status_ = status;
    method_size_ = 0;
    start_.assign(reason);
    version_ = version;
}

void message_head::clear() {
    flat_fields::clear();
    start_.clear();
    method_size_ = 0;
    method_ = http::verb::unknown;
    status_ = 0;
    version_ = 11;
    keep_alive_ = false;
}

template <bool IsRequest>
std::size_t flat_parser<IsRequest>::take(beast::string_view bytes, error_code& ec) {
    if (!body_.data) {
        ec = http::error::need_buffer;
        return 0;
    }
    const std::size_t n = std::min(bytes.size(), body_.size);
    std::memcpy(body_.data, bytes.data(), n);
    body_.data = static_cast<char*>(body_.data) + n;
    body_.size -= n;
    if (n < bytes.size()) ec = http::error::need_buffer;
    return n;
}

template class flat_parser<true>;
template class flat_parser<false>;

}  // namespace creditgate::proxy
