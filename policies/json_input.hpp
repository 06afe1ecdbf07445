#pragma once
// json_input: reading JSON documents written by people (config files, vendor profiles):
// comments allowed, ${NAME} / ${NAME:-default} expanded inside strings, numbers kept as
// their decimal text (so amounts never pass through a double), and every problem reported
// with the JSON path it concerns, all of them at once.

#include "policies/money.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace creditgate::policies {

using json = nlohmann::json;

struct input_issue {
    std::string file;     // the document it concerns
    std::string path;     // "budgets[2].limit"; empty for the document as a whole
    std::string message;
};

// The problems found in one file, printed as "FILE: PATH: MESSAGE".
class issue_list {
public:
    explicit issue_list(std::string file = {}) : file_(std::move(file)) {}
    void add(std::string path, std::string message) { issues_.push_back({file_, std::move(path), std::move(message)}); }
    bool empty() const { return issues_.empty(); }
    const std::vector<input_issue>& items() const { return issues_; }
    const std::string& file() const { return file_; }
    std::vector<std::string> formatted() const;
    void append(const issue_list& other);

private:
    std::string file_;
    std::vector<input_issue> issues_;
};

using env_lookup = std::function<std::optional<std::string>(std::string_view name)>;
env_lookup process_environment();

// The whole file at `path`; false when it cannot be read.
bool read_text_file(const std::string& path, std::string& out);

// Parses `text`. JSON floats become {"$decimal": "<text>"} so that readers can parse the
// exact decimal; integers stay integers. Strings are expanded from `env` (an empty `env`
// leaves them as written: vendor answers are data, not config). Problems go to
// `issues`; on a syntax error the result is null.
json parse_json_document(std::string_view text, const env_lookup& env, issue_list& issues);

// Expands ${NAME} and ${NAME:-default}; nullopt (with a message in `error`) when a variable
// without a default is unset or a reference is malformed.
std::optional<std::string> expand_environment(std::string_view text, const env_lookup& env, std::string& error);

bool is_decimal(const json& node);          // a JSON float kept as text
bool is_number(const json& node);           // integer or decimal
std::string_view type_name(const json& node);  // "number" for decimals too
std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, std::size_t index);

// Reads the fields of one JSON object, recording which keys were used so that finish()
// can report the unknown ones. Every accessor reports its own type and range errors.
class object_reader {
public:
    object_reader(const json& object, std::string path, issue_list& issues);
    object_reader(const object_reader&) = delete;
    object_reader& operator=(const object_reader&) = delete;

    bool valid() const { return valid_; }
    const std::string& path() const { return path_; }
    std::string path_of(std::string_view key) const { return join_path(path_, key); }
    issue_list& issues() { return issues_; }

    bool has(std::string_view key) const;  // present and not null
    const json* get(std::string_view key);  // marks the key known; null when absent or null

    std::optional<std::string> string(std::string_view key, bool required = false);
    std::optional<bool> boolean(std::string_view key);
    std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max,
                                        bool required = false);
    std::optional<money> amount(std::string_view key, bool required = false);
    std::optional<std::vector<std::string>> string_list(std::string_view key);

    void error(std::string_view key, std::string message) { issues_.add(path_of(key), std::move(message)); }
    void finish();  // reports keys nobody asked for

private:
    const json* object_;
    std::string path_;
    issue_list& issues_;
    std::vector<std::string> known_;
    bool valid_ = true;
};

// Free-standing readers for values that are not object fields (list items, map values).
std::optional<money> read_amount(const json& node, const std::string& path, issue_list& issues);
std::optional<std::string> read_string(const json& node, const std::string& path, issue_list& issues);

}  // namespace creditgate::policies
