#include "policies/store/usage_report.hpp"

#include "policies/json_amount.hpp"

#include <algorithm>
#include <cstdio>

namespace creditgate::policies {
namespace {

constexpr std::string_view measure_names[] = {"requests", "succeeded", "failed", "rejected", "credits", "unit", "cost_usd", "avg_latency_ms"};

bool mixed(const usage_row& r) { return r.unit == mixed_unit; }

std::string latency_text(double ms) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", ms);
    return buf;
}

// The row's cells after its keys, as text, in measure_names order.
std::vector<std::string> measures(const usage_row& r) {
    return {std::to_string(r.requests), std::to_string(r.succeeded), std::to_string(r.failed), std::to_string(r.rejected),
            mixed(r) ? std::string() : r.credits.to_string(), r.unit, r.cost_usd.to_string(), latency_text(r.avg_latency_ms)};
}

std::vector<std::string> header(const usage_query& q) {
    std::vector<std::string> out;
    for (auto g : q.group_by) out.emplace_back(to_string(g));
    out.insert(out.end(), std::begin(measure_names), std::end(measure_names));
    return out;
}

std::string csv_cell(const std::string& text) {
    if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + '"';
}

std::vector<std::string> split_commas(std::string_view text) {
    std::vector<std::string> out;
    while (true) {
        const auto comma = text.find(',');
        std::string_view part = text.substr(0, comma);
        while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
        while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
        if (!part.empty()) out.emplace_back(part);
        if (comma == std::string_view::npos) return out;
        text.remove_prefix(comma + 1);
    }
}

}  // namespace

std::string_view to_string(usage_group group) {
    switch (group) {
        case usage_group::client: return "client";
        case usage_group::team: return "team";
        case usage_group::vendor: return "vendor";
        case usage_group::account: return "account";
        case usage_group::day: return "day";
        case usage_group::hour: return "hour";
    }
    return "client";
}

std::optional<usage_group> parse_usage_group(std::string_view name) {
    for (auto g : {usage_group::client, usage_group::team, usage_group::vendor, usage_group::account, usage_group::day, usage_group::hour})
        if (to_string(g) == name) return g;
    return std::nullopt;
}

usage_request_result parse_usage_request(const std::vector<std::pair<std::string, std::string>>& params, civil_date today) {
    usage_request r;
    r.query.from = {today.year, today.month, 1};
    r.query.to = today;
    r.query.group_by = {usage_group::client, usage_group::vendor};
    auto fail = [](std::string message) { return usage_request_result{std::nullopt, std::move(message)}; };
    for (const auto& [name, value] : params) {
        if (name == "from" || name == "to") {
            auto date = parse_civil_date(value);
            if (!date) return fail(name + ": expected a date YYYY-MM-DD, got \"" + value + "\"");
            (name == "from" ? r.query.from : r.query.to) = *date;
        } else if (name == "group_by" || name == "group-by") {
            r.query.group_by.clear();
            for (const auto& part : split_commas(value)) {
                auto g = parse_usage_group(part);
                if (!g) return fail("group_by: unknown grouping \"" + part + "\" (client, team, vendor, account, day, hour)");
                if (std::find(r.query.group_by.begin(), r.query.group_by.end(), *g) == r.query.group_by.end())
                    r.query.group_by.push_back(*g);
            }
        } else if (name == "client") {
            r.query.client = value;
        } else if (name == "team") {
            r.query.team = value;
        } else if (name == "vendor") {
            r.query.vendor = value;
        } else if (name == "format") {
            if (value == "json") r.format = report_format::json;
            else if (value == "csv") r.format = report_format::csv;
            else if (value == "table") r.format = report_format::table;
            else return fail("format: expected json, csv or table, got \"" + value + "\"");
        } else {
            return fail("unknown parameter \"" + name + "\"");
        }
    }
    if (r.query.to < r.query.from) return fail("from: " + to_string(r.query.from) + " is after to " + to_string(r.query.to));
    return {std::move(r), {}};
}

void assign_units(std::vector<usage_row>& rows, const std::function<std::string(const std::string& vendor)>& unit_of) {
    for (auto& r : rows) r.unit = r.vendors > 1 ? std::string(mixed_unit) : unit_of(r.vendor);
}

nlohmann::json usage_json(const usage_query& q, const std::vector<usage_row>& rows) {
    using nlohmann::json;
    json groups = json::array();
    for (auto g : q.group_by) groups.push_back(to_string(g));
    json out_rows = json::array();
    for (const auto& r : rows) {
        json row = json::object();
        for (std::size_t i = 0; i < q.group_by.size() && i < r.keys.size(); ++i) row[std::string(to_string(q.group_by[i]))] = r.keys[i];
        row["requests"] = r.requests;
        row["succeeded"] = r.succeeded;
        row["failed"] = r.failed;
        row["rejected"] = r.rejected;
        // Amounts leave as their exact decimal text (dump_exact). Two vendors' credits do not add up.
        row["credits"] = mixed(r) ? json(nullptr) : amount_json(r.credits);
        row["unit"] = r.unit;
        row["cost_usd"] = amount_json(r.cost_usd);
        row["avg_latency_ms"] = json::parse(latency_text(r.avg_latency_ms));
        out_rows.push_back(std::move(row));
    }
    return json{{"from", to_string(q.from)}, {"to", to_string(q.to)}, {"group_by", groups}, {"rows", out_rows}};
}

std::string usage_csv(const usage_query& q, const std::vector<usage_row>& rows) {
    std::string out;
    auto line = [&out](const std::vector<std::string>& cells) {
        for (std::size_t i = 0; i < cells.size(); ++i) {
            if (i) out += ',';
            out += csv_cell(cells[i]);
        }
        out += "\r\n";
    };
    line(header(q));
    for (const auto& r : rows) {
        std::vector<std::string> cells = r.keys;
        const auto m = measures(r);
        cells.insert(cells.end(), m.begin(), m.end());
        line(cells);
    }
    return out;
}

std::string usage_table(const usage_query& q, const std::vector<usage_row>& rows) {
    std::vector<std::vector<std::string>> cells{header(q)};
    for (const auto& r : rows) {
        cells.push_back(r.keys);
        const auto m = measures(r);
        cells.back().insert(cells.back().end(), m.begin(), m.end());
    }
    const std::size_t keys = q.group_by.size();
    std::vector<std::size_t> width(cells.front().size(), 0);
    for (const auto& row : cells)
        for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) width[i] = std::max(width[i], row[i].size());
    std::string out;
    for (const auto& row : cells) {
        for (std::size_t i = 0; i < row.size() && i < width.size(); ++i) {
            const std::string pad(width[i] - row[i].size(), ' ');
            if (i) out += "  ";
            out += i < keys ? row[i] + pad : pad + row[i];  // keys left, numbers right
        }
        while (!out.empty() && out.back() == ' ') out.pop_back();
        out += '\n';
    }
    if (rows.empty()) out += "(no calls from " + to_string(q.from) + " to " + to_string(q.to) + ")\n";
    return out;
}

}  // namespace creditgate::policies
