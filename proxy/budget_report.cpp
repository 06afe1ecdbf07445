#include "proxy/budget_report.hpp"

#include "policies/json_amount.hpp"
#include "proxy/offline_books.hpp"

#include <algorithm>
#include <cstdio>

namespace creditgate::proxy {
namespace {

struct budget_line {
    std::string id, kind, unit, used, limit, percent, resets;
};

// Tenths of a percent of used against limit, exact (both in µ).
std::string percent_of(policies::money used, policies::money limit) {
    if (limit.micros() <= 0) return "";
    const __int128 tenths = (static_cast<__int128>(used.micros()) * 1000 + limit.micros() / 2) / limit.micros();
    const auto t = static_cast<long long>(tenths);
    return std::to_string(t / 10) + "." + std::to_string(std::llabs(t % 10));
}

std::vector<budget_line> lines_of(const policies::metering& books) {
    std::vector<budget_line> out;
    for (const auto& v : books.budgets()) {
        const bool metered = v.def->kind == policies::budget_kind::credits || v.def->kind == policies::budget_kind::money;
        if (!metered) continue;  // slots and tokens have no use to report over a period
        out.push_back({v.def->id, std::string(policies::to_string(v.def->kind)), v.unit, (v.used + v.frozen).to_string(),
                       v.limit.to_string(), percent_of(v.used + v.frozen, v.limit),
                       v.window.end == INT64_MAX ? std::string("never") : policies::format_utc(v.window.end)});
    }
    return out;
}

}  // namespace

int run_budget_report(const config& cfg, policies::report_format format) {
    std::string note;
    const auto books = offline_books(cfg, note);
    const auto lines = lines_of(*books);
    const char* header[] = {"budget", "kind", "unit", "used", "limit", "used_percent", "resets"};
    if (format == policies::report_format::json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& l : lines)
            list.push_back({{"budget", l.id}, {"kind", l.kind}, {"unit", l.unit}, {"used", nlohmann::json::parse(l.used)},
                            {"limit", nlohmann::json::parse(l.limit)},
                            {"used_percent", l.percent.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(l.percent)},
                            {"resets", l.resets}});
        std::printf("%s\n", policies::dump_exact(nlohmann::json{{"budgets", list}}, 2).c_str());
    } else if (format == policies::report_format::csv) {
        std::printf("budget,kind,unit,used,limit,used_percent,resets\r\n");
        for (const auto& l : lines)
            std::printf("%s,%s,%s,%s,%s,%s,%s\r\n", l.id.c_str(), l.kind.c_str(), l.unit.c_str(), l.used.c_str(), l.limit.c_str(),
                        l.percent.c_str(), l.resets.c_str());
    } else {
        std::vector<std::size_t> width(7);
        auto cells = [](const budget_line& l) { return std::vector<std::string>{l.id, l.kind, l.unit, l.used, l.limit, l.percent + "%", l.resets}; };
        for (std::size_t i = 0; i < 7; ++i) width[i] = std::string(header[i]).size();
        for (const auto& l : lines) {
            const auto c = cells(l);
            for (std::size_t i = 0; i < 7; ++i) width[i] = std::max(width[i], c[i].size());
        }
        auto row = [&](const std::vector<std::string>& c) {
            std::string out;
            for (std::size_t i = 0; i < c.size(); ++i) {
                const std::string pad(width[i] - c[i].size(), ' ');
                out += i ? "  " : "";
                out += (i >= 3 && i <= 5) ? pad + c[i] : c[i] + pad;  // amounts right, words left
            }
            while (!out.empty() && out.back() == ' ') out.pop_back();
            std::printf("%s\n", out.c_str());
        };
        row({header, header + 7});
        for (const auto& l : lines) row(cells(l));
        if (!note.empty()) std::printf("%s\n", note.c_str());
    }
    return 0;
}

}  // namespace creditgate::proxy
