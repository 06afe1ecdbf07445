// parse_priced_body: the strict JSON reading that pricing a request body needs (SPEC §5). A
// body the proxy reads differently from the vendor is a body it cannot price: nlohmann already
// refuses what RFC 8259 does not allow (NaN, Infinity, lone surrogates, 1e400); this adds
// repeated keys, which RFC 8259 leaves to the reader, and unbounded nesting.
#include "policies/cost_model.hpp"

#include <set>
#include <string>
#include <vector>

namespace creditgate::policies {
namespace {

constexpr std::size_t max_depth = 128;

// nlohmann's own DOM building, plus the two refusals.
class strict_builder {
public:
    explicit strict_builder(json& root) : root_(root) {}

    bool null() { return put(nullptr); }
    bool boolean(bool v) { return put(v); }
    bool number_integer(json::number_integer_t v) { return put(v); }
    bool number_unsigned(json::number_unsigned_t v) { return put(v); }
    bool number_float(json::number_float_t v, const std::string&) { return put(v); }
    bool string(std::string& v) { return put(std::move(v)); }
    bool binary(json::binary_t&) { return false; }
    bool start_object(std::size_t) { return open(json::object()); }
    bool start_array(std::size_t) { return open(json::array()); }
    bool end_object() { return close(); }
    bool end_array() { return close(); }
    bool key(std::string& k) {
        frame& f = frames_.back();
        if (!f.keys.insert(k).second) return false;  // a repeated key: which one the vendor reads is unknown
        f.key = std::move(k);
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

private:
    struct frame {
        json* node;
        std::string key;
        std::set<std::string> keys;
    };

    json* slot() {
        if (frames_.empty()) return &root_;
        json& parent = *frames_.back().node;
        if (parent.is_array()) {
            parent.push_back(nullptr);
            return &parent.back();
        }
        return &parent[frames_.back().key];
    }
    bool put(json value) {
        *slot() = std::move(value);
        return true;
    }
    bool open(json container) {
        if (frames_.size() >= max_depth) return false;
        json* s = slot();
        *s = std::move(container);
        frames_.push_back({s, {}, {}});
        return true;
    }
    bool close() {
        frames_.pop_back();
        return true;
    }

    json& root_;
    std::vector<frame> frames_;
};

}  // namespace

bool parse_priced_body(std::string_view text, json& out) {
    out = nullptr;
    strict_builder builder(out);
    try {
        // A float that overflows a double (1e400) reaches parse_error as out_of_range.406.
        return json::sax_parse(text, &builder, json::input_format_t::json, true);
    } catch (const json::exception&) {
        return false;
    }
}

}  // namespace creditgate::policies
