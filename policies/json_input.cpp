#include "policies/json_input.hpp"
#include "policies/nearest_name.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace creditgate::policies {
namespace {

constexpr const char* decimal_key = "$decimal";

bool is_name_start(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t offset) {
    offset = std::min(offset, text.size());
    std::size_t line = 1, column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
        if (text[i] == '\n') { ++line; column = 1; } else { ++column; }
    }
    return {line, column};
}

// Builds the DOM like nlohmann's own SAX DOM parser, but keeps float text, expands the
// environment in strings and knows the JSON path of the value it is building.
class document_builder {
public:
    document_builder(std::string_view text, const env_lookup& env, issue_list& issues)
        : text_(text), env_(env), issues_(issues) {}

    json result() { return std::move(root_); }

    bool null() { put(nullptr); return true; }
    bool boolean(bool v) { put(v); return true; }
    bool number_integer(json::number_integer_t v) { put(v); return true; }
    bool number_unsigned(json::number_unsigned_t v) { put(v); return true; }
    bool number_float(json::number_float_t, const std::string& text) {
        put(json{{decimal_key, text}});
        return true;
    }
    bool string(std::string& value) {
        if (!env_) {  // a document from the network: strings are data, never expanded
            put(std::move(value));
            return true;
        }
        std::string error;
        auto expanded = expand_environment(value, env_, error);
        if (!expanded) {
            issues_.add(current_path(), error);
            put(value);
        } else {
            put(std::move(*expanded));
        }
        return true;
    }
    bool binary(json::binary_t&) { return false; }
    bool start_object(std::size_t) { open(json::object()); return true; }
    bool end_object() { close(); return true; }
    bool start_array(std::size_t) { open(json::array()); return true; }
    bool end_array() { close(); return true; }
    bool key(std::string& k) {
        frames_.back().key = k;
        return true;
    }
    bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& ex) {
        auto [line, column] = line_column(text_, position > 0 ? position - 1 : 0);
        std::string what = ex.what();
        // nlohmann's message repeats the position in its own words; keep the reason only.
        if (auto p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
        issues_.add("", "line " + std::to_string(line) + " column " + std::to_string(column) + ": " + what);
        return false;
    }

private:
    struct frame {
        json* node;
        std::string key;  // for objects: the key of the value being read
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
    void put(json value) { *slot() = std::move(value); }
    void open(json container) {
        json* s = slot();
        *s = std::move(container);
        frames_.push_back({s, {}});
    }
    void close() { frames_.pop_back(); }

    std::string current_path() const {
        std::string path;
        for (std::size_t i = 0; i < frames_.size(); ++i) {
            const frame& f = frames_[i];
            // An outer array already holds the element being built; the innermost one not yet.
            const bool innermost = i + 1 == frames_.size();
            if (f.node->is_array()) path = index_path(path, f.node->size() - (innermost ? 0 : 1));
            else path = join_path(path, f.key);
        }
        return path;
    }

    std::string_view text_;
    const env_lookup& env_;
    issue_list& issues_;
    json root_;
    std::vector<frame> frames_;
};

}  // namespace

std::vector<std::string> issue_list::formatted() const {
    std::vector<std::string> out;
    out.reserve(issues_.size());
    for (const auto& issue : issues_) {
        std::string line = issue.file.empty() ? std::string{} : issue.file + ": ";
        if (!issue.path.empty()) line += issue.path + ": ";
        line += issue.message;
        out.push_back(std::move(line));
    }
    return out;
}

void issue_list::append(const issue_list& other) {
    // Each issue keeps its own file: a profile's error names the profile, not the config.
    issues_.insert(issues_.end(), other.issues_.begin(), other.issues_.end());
}

bool read_text_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream buf;
    buf << in.rdbuf();
    out = buf.str();
    return !in.bad();
}

env_lookup process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr) return std::nullopt;
        return std::string(value);
    };
}

std::optional<std::string> expand_environment(std::string_view text, const env_lookup& env, std::string& error) {
    if (text.find("${") == std::string_view::npos) return std::string(text);
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        if (text[i] != '$' || i + 1 >= text.size() || text[i + 1] != '{') {
            out.push_back(text[i++]);
            continue;
        }
        const std::size_t close = text.find('}', i + 2);
        if (close == std::string_view::npos) {
            error = "unterminated ${ in \"" + std::string(text) + "\"";
            return std::nullopt;
        }
        std::string_view inner = text.substr(i + 2, close - i - 2);
        std::optional<std::string_view> fallback;
        if (auto sep = inner.find(":-"); sep != std::string_view::npos) {
            fallback = inner.substr(sep + 2);
            inner = inner.substr(0, sep);
        }
        if (inner.empty() || !is_name_start(inner[0]) ||
            !std::all_of(inner.begin(), inner.end(), is_name_char)) {
            error = "malformed variable reference ${" + std::string(text.substr(i + 2, close - i - 2)) + "}";
            return std::nullopt;
        }
        if (auto value = env(inner)) {
            out += *value;
        } else if (fallback) {
            out += *fallback;
        } else {
            error = "environment variable " + std::string(inner) + " is not set (write ${" +
                    std::string(inner) + ":-default} to give a default)";
            return std::nullopt;
        }
        i = close + 1;
    }
    return out;
}

json parse_json_document(std::string_view text, const env_lookup& env, issue_list& issues) {
    document_builder builder(text, env, issues);
    const bool ok = json::sax_parse(text, &builder, json::input_format_t::json, /*strict=*/true,
                                    /*ignore_comments=*/true);
    if (!ok) return nullptr;
    return builder.result();
}

bool is_decimal(const json& node) {
    return node.is_object() && node.size() == 1 && node.contains(decimal_key) && node[decimal_key].is_string();
}

bool is_number(const json& node) { return node.is_number() || is_decimal(node); }

std::string_view type_name(const json& node) {
    if (is_decimal(node)) return "number";
    return node.type_name();
}

std::string join_path(std::string_view parent, std::string_view key) {
    std::string out(parent);
    if (!out.empty()) out += '.';
    out += key;
    return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
    return std::string(parent) + "[" + std::to_string(index) + "]";
}

std::optional<money> read_amount(const json& node, const std::string& path, issue_list& issues) {
    std::string text;
    if (node.is_number_integer()) text = node.dump();
    else if (is_decimal(node)) text = node.begin()->get<std::string>();
    else if (node.is_string()) text = node.get<std::string>();
    else {
        issues.add(path, "expected an amount (number or decimal string), got " + std::string(type_name(node)));
        return std::nullopt;
    }
    auto value = money::parse(text);
    if (!value) {
        issues.add(path, "\"" + text + "\" is not an amount with at most 6 decimal places");
        return std::nullopt;
    }
    if (!value->in_range()) {  // SPEC §1: so that no sum of a few amounts can overflow
        issues.add(path, "\"" + text + "\" is out of range (amounts lie within ±1000000000000)");
        return std::nullopt;
    }
    return value;
}

std::optional<std::string> read_string(const json& node, const std::string& path, issue_list& issues) {
    if (!node.is_string()) {
        issues.add(path, "expected a string, got " + std::string(type_name(node)));
        return std::nullopt;
    }
    return node.get<std::string>();
}

object_reader::object_reader(const json& object, std::string path, issue_list& issues)
    : object_(&object), path_(std::move(path)), issues_(issues) {
    if (!object.is_object() || is_decimal(object)) {
        issues_.add(path_, "expected an object, got " + std::string(type_name(object)));
        valid_ = false;
    }
}

bool object_reader::has(std::string_view key) const {
    if (!valid_) return false;
    auto it = object_->find(key);
    return it != object_->end() && !it->is_null();
}

const json* object_reader::get(std::string_view key) {
    if (!valid_) return nullptr;
    known_.emplace_back(key);
    auto it = object_->find(key);
    if (it == object_->end() || it->is_null()) return nullptr;
    return &*it;
}

std::optional<std::string> object_reader::string(std::string_view key, bool required) {
    const json* node = get(key);
    if (!node) {
        if (required && valid_) error(key, "is required");
        return std::nullopt;
    }
    return read_string(*node, path_of(key), issues_);
}

std::optional<bool> object_reader::boolean(std::string_view key) {
    const json* node = get(key);
    if (!node) return std::nullopt;
    if (!node->is_boolean()) {
        error(key, "expected true or false, got " + std::string(type_name(*node)));
        return std::nullopt;
    }
    return node->get<bool>();
}

std::optional<std::int64_t> object_reader::integer(std::string_view key, std::int64_t min, std::int64_t max,
                                                   bool required) {
    const json* node = get(key);
    if (!node) {
        if (required && valid_) error(key, "is required");
        return std::nullopt;
    }
    if (!node->is_number_integer()) {
        error(key, "expected a whole number, got " + std::string(type_name(*node)));
        return std::nullopt;
    }
    if (node->is_number_unsigned() && node->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
        error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return std::nullopt;
    }
    const auto value = node->get<std::int64_t>();
    if (value < min || value > max) {
        error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max));
        return std::nullopt;
    }
    return value;
}

std::optional<money> object_reader::amount(std::string_view key, bool required) {
    const json* node = get(key);
    if (!node) {
        if (required && valid_) error(key, "is required");
        return std::nullopt;
    }
    return read_amount(*node, path_of(key), issues_);
}

std::optional<std::vector<std::string>> object_reader::string_list(std::string_view key) {
    const json* node = get(key);
    if (!node) return std::nullopt;
    if (!node->is_array()) {
        error(key, "expected a list of strings, got " + std::string(type_name(*node)));
        return std::nullopt;
    }
    std::vector<std::string> out;
    bool ok = true;
    for (std::size_t i = 0; i < node->size(); ++i) {
        auto s = read_string((*node)[i], index_path(path_of(key), i), issues_);
        if (s) out.push_back(std::move(*s));
        else ok = false;
    }
    if (!ok) return std::nullopt;
    return out;
}

void object_reader::finish() {
    if (!valid_) return;
    for (const auto& [key, value] : object_->items()) {
        if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
        std::string message = "unknown key";
        message += did_you_mean(key, known_);
        issues_.add(path_of(key), std::move(message));
    }
}

}  // namespace creditgate::policies
