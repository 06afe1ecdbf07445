#include "policies/host_pattern.hpp"

#include <vector>

namespace creditgate::policies {
namespace {

std::vector<std::string_view> labels_of(std::string_view name) {
    std::vector<std::string_view> labels;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = name.find('.', start);
        labels.push_back(name.substr(start, dot - start));
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return labels;
}

bool match_labels(const std::vector<std::string_view>& pattern, std::size_t p,
                  const std::vector<std::string_view>& host, std::size_t h) {
    if (p == pattern.size()) return h == host.size();
    if (pattern[p] == "*") {
        // One or more labels; try every split (patterns are short, hosts too).
        for (std::size_t take = 1; h + take <= host.size(); ++take)
            if (match_labels(pattern, p + 1, host, h + take)) return true;
        return false;
    }
    return h < host.size() && pattern[p] == host[h] && match_labels(pattern, p + 1, host, h + 1);
}

}  // namespace

std::string normalize_host(std::string_view host) {
    std::string out(host);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (!out.empty() && out.back() == '.') out.pop_back();
    return out;
}

bool host_matches(std::string_view pattern, std::string_view host) {
    if (pattern.find('*') == std::string_view::npos) return pattern == host;
    if (host.empty()) return false;
    return match_labels(labels_of(pattern), 0, labels_of(host), 0);
}

bool is_valid_host_pattern(std::string_view pattern) {
    if (pattern.empty() || pattern.size() > 253) return false;
    for (std::string_view label : labels_of(pattern)) {
        if (label.empty() || label.size() > 63) return false;
        if (label == "*") continue;
        for (char c : label) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '_';
            if (!ok) return false;
        }
    }
    return true;
}

}  // namespace creditgate::policies
