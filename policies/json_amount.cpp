#include "policies/json_amount.hpp"

#include <cstdio>
#include <random>

namespace creditgate::policies {
namespace {

// "\x1f" + 16 hex digits + "\x1f": dumped, the control characters come out as \u001f.
const std::string& mark() {
    static const std::string m = [] {
        std::random_device rd;
        char hex[17];
        std::snprintf(hex, sizeof hex, "%08x%08x", rd(), rd());
        std::string out(1, '\x1f');  // appended, not operator+: GCC 12 warns on that falsely
        out.append(hex).push_back('\x1f');
        return out;
    }();
    return m;
}

const std::string& dumped_mark() {
    static const std::string m = "\"\\u001f" + mark().substr(1, 16) + "\\u001f";
    return m;
}

}  // namespace

nlohmann::json amount_json(money m) { return mark() + m.to_string(); }

std::string dump_exact(const nlohmann::json& doc, int indent) {
    const std::string text = doc.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
    const std::string& needle = dumped_mark();
    std::string out;
    out.reserve(text.size());
    std::size_t at = 0;
    for (std::size_t found; (found = text.find(needle, at)) != std::string::npos;) {
        out.append(text, at, found - at);
        const std::size_t digits = found + needle.size();
        const std::size_t close = text.find('"', digits);  // the decimal has no quote or escape in it
        out.append(text, digits, close - digits);
        at = close + 1;
    }
    out.append(text, at, std::string::npos);
    return out;
}

}  // namespace creditgate::policies
