#include "policies/nearest_name.hpp"

#include <algorithm>
#include <cctype>

namespace creditgate::policies {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                              std::tolower(static_cast<unsigned char>(b[j - 1]));
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (same ? 0 : 1)});
            diagonal = above;
        }
    }
    return row[b.size()];
}

}  // namespace

std::optional<std::string> nearest_name(std::string_view name, const std::vector<std::string>& candidates) {
    if (name.empty() || name.size() > 200) return std::nullopt;  // nothing to compare, or not a name
    const std::size_t allowed = name.size() <= 4 ? 1 : name.size() <= 8 ? 2 : 3;
    std::optional<std::string> best;
    std::size_t best_distance = allowed + 1;
    for (const auto& c : candidates) {
        if (c == name || c.size() > 200) continue;
        const std::size_t d = edit_distance(name, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates) {
    auto best = nearest_name(name, candidates);
    if (!best) return {};
    std::string out = "; did you mean \"";
    out.append(*best).append("\"?");
    return out;
}

}  // namespace creditgate::policies
