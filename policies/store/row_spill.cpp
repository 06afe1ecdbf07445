#include "policies/store/row_spill.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fcntl.h>
#include <fstream>
#include <unistd.h>

namespace creditgate::policies {

std::string to_json_line(const call_row& r) {
    nlohmann::json j = {{"id", r.id},           {"admitted_at", r.admitted_at},   {"request_id", r.request_id},
                        {"client", r.client},   {"team", r.team},                 {"vendor", r.vendor},
                        {"account", r.account}, {"method", r.method},             {"host", r.host},
                        {"path", r.path},       {"status", r.status},             {"decision", to_string(r.decision)},
                        {"estimate_micros", r.estimate.micros()}, {"actual_micros", r.actual.micros()},
                        {"latency_ms", r.latency_ms}};
    j["finished_at"] = r.finished_at ? nlohmann::json(*r.finished_at) : nlohmann::json(nullptr);
    j["cost_usd_micros"] = r.cost_usd ? nlohmann::json(r.cost_usd->micros()) : nlohmann::json(nullptr);
    // Rows hold no secret: the path is without its query (call_row), the account is an id.
    return j.dump();
}

std::optional<call_row> from_json_line(const std::string& line) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_object()) return std::nullopt;
    try {
        call_row r;
        r.id = j.at("id").get<std::int64_t>();
        r.admitted_at = j.at("admitted_at").get<std::int64_t>();
        if (!j.at("finished_at").is_null()) r.finished_at = j.at("finished_at").get<std::int64_t>();
        for (auto [field, name] : {std::pair{&r.request_id, "request_id"}, {&r.client, "client"}, {&r.team, "team"},
                                   {&r.vendor, "vendor"}, {&r.account, "account"}, {&r.method, "method"},
                                   {&r.host, "host"}, {&r.path, "path"}})
            *field = j.at(name).get<std::string>();
        r.status = j.at("status").get<unsigned>();
        const auto how = parse_decision(j.at("decision").get<std::string>());
        if (!how) return std::nullopt;
        r.decision = *how;
        r.estimate = money::from_micros(j.at("estimate_micros").get<std::int64_t>());
        r.actual = money::from_micros(j.at("actual_micros").get<std::int64_t>());
        if (!j.at("cost_usd_micros").is_null()) r.cost_usd = money::from_micros(j.at("cost_usd_micros").get<std::int64_t>());
        r.latency_ms = j.at("latency_ms").get<std::int64_t>();
        return r;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

std::string spill_path(const std::string& db_path) { return db_path + ".unwritten.jsonl"; }

bool spill_rows(const std::string& db_path, const std::vector<call_row>& rows, std::string& written) {
    std::string text;
    for (const auto& r : rows) text += to_json_line(r) + "\n";
    const std::string path = spill_path(db_path);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    for (std::size_t at = 0; ok && at < text.size();) {
        const ssize_t n = ::write(fd, text.data() + at, text.size() - at);
        if (n <= 0) ok = false;
        else at += static_cast<std::size_t>(n);
    }
    if (ok) ok = ::fsync(fd) == 0;
    if (fd >= 0) ::close(fd);
    if (ok) {
        written = path;
        return true;
    }
    // The disk is full for that file too: the rows leave on stderr, never silently.
    for (const auto& r : rows) std::fprintf(stderr, "creditgate: unwritten ledger row: %s\n", to_json_line(r).c_str());
    std::fflush(stderr);
    written = "stderr";
    return false;
}

bool read_spilled(const std::string& db_path, std::vector<call_row>& rows, std::string& error) {
    std::ifstream in(spill_path(db_path));
    if (!in) return true;  // nothing was spilled
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        auto row = from_json_line(line);
        // A line cut by the crash of the stop that wrote it is the last one: skip it, say so.
        if (!row) {
            error = spill_path(db_path) + ": line " + std::to_string(number) + " is not a ledger row";
            continue;
        }
        rows.push_back(std::move(*row));
    }
    return true;
}

}  // namespace creditgate::policies
