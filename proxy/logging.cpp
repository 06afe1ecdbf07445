#include "proxy/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <ctime>

namespace creditgate::proxy {
namespace {

std::atomic<bool> json_lines{false};
std::shared_ptr<spdlog::logger> access_logger;

void append_json_string(spdlog::memory_buf_t& dest, std::string_view text) {
    const std::string quoted = nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(quoted.data(), quoted.data() + quoted.size());
}

void append(spdlog::memory_buf_t& dest, std::string_view text) { dest.append(text.data(), text.data() + text.size()); }

// One JSON object a line: {"ts","level","logger","msg"}; the access logger's payload is
// already a list of JSON members and is merged in as fields.
class json_formatter final : public spdlog::formatter {
public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const auto since_epoch = msg.time.time_since_epoch();
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs).count();
        const std::time_t t = secs.count();
        std::tm tm{};
        gmtime_r(&t, &tm);
        char ts[40];
        const std::size_t n = std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
        std::snprintf(ts + n, sizeof ts - n, ".%03dZ", static_cast<int>(millis));

        append(dest, "{\"ts\":\"");
        append(dest, ts);
        append(dest, "\",\"level\":\"");
        const auto level = spdlog::level::to_string_view(msg.level);
        dest.append(level.data(), level.data() + level.size());
        append(dest, "\",\"logger\":");
        append_json_string(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        const std::string_view payload(msg.payload.data(), msg.payload.size());
        if (msg.logger_name == "access") {
            append(dest, ",");
            append(dest, payload);
        } else {
            append(dest, ",\"msg\":");
            append_json_string(dest, payload);
        }
        append(dest, "}\n");
    }
    std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<json_formatter>(); }
};

std::string_view or_dash(std::string_view s) { return s.empty() ? std::string_view("-") : s; }

double elapsed_ms(const exchange_record& r) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r.started).count();
}

void install(std::vector<spdlog::sink_ptr> sinks, spdlog::level::level_enum level, bool json) {
    for (auto& sink : sinks) {
        if (json) sink->set_formatter(std::make_unique<json_formatter>());
        else sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %n: %v",
                                                                            spdlog::pattern_time_type::utc));
    }
    auto main_logger = std::make_shared<spdlog::logger>("creditgate", sinks.begin(), sinks.end());
    main_logger->set_level(level);
    main_logger->flush_on(spdlog::level::warn);
    auto access = std::make_shared<spdlog::logger>("access", sinks.begin(), sinks.end());
    access->set_level(level);
    spdlog::set_default_logger(main_logger);
    std::atomic_store(&access_logger, access);
    json_lines = json;
}

}  // namespace

void setup_bootstrap_logging() {
    install({std::make_shared<spdlog::sinks::stderr_sink_mt>()}, spdlog::level::info, false);
}

bool setup_logging(const log_config& cfg, std::string& error) {
    spdlog::sink_ptr sink;
    if (cfg.file) {
        try {
            sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(*cfg.file);
        } catch (const spdlog::spdlog_ex& e) {
            error = "cannot open log file " + *cfg.file + ": " + e.what();
            return false;
        }
        // A file is written in blocks; push them out at least every second.
        spdlog::flush_every(std::chrono::seconds(1));
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    install({sink}, spdlog::level::from_str(cfg.level), cfg.format == log_format::json);
    return true;
}

void log_access(const exchange_record& r) {
    auto logger = std::atomic_load(&access_logger);
    if (!logger || !logger->should_log(spdlog::level::info)) return;
    const std::string_view client = r.client ? std::string_view(r.client->id) : std::string_view{};
    const std::string_view team = r.client ? std::string_view(r.client->team) : std::string_view{};
    if (json_lines) {
        nlohmann::json j{{"id", r.request_id},     {"client", client},       {"team", team},
                         {"method", r.method},      {"host", r.host},         {"path", r.path},
                         {"status", r.status},      {"bytes", r.bytes_sent},  {"ms", elapsed_ms(r)},
                         {"outcome", r.outcome}};
        std::string members = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        logger->info(std::string_view(members).substr(1, members.size() - 2));
    } else {
        logger->info("id={} client={} team={} method={} host={} path={} status={} bytes={} ms={:.2f} outcome={}",
                     r.request_id, or_dash(client), or_dash(team), or_dash(r.method), or_dash(r.host), or_dash(r.path),
                     r.status, r.bytes_sent, elapsed_ms(r), or_dash(r.outcome));
    }
}

void log_tunnel(const exchange_record& r, std::uint64_t up, std::uint64_t down, bool idle_timeout) {
    spdlog::info("tunnel id={} client={} host={} up={} down={} ms={:.0f}{}", r.request_id,
                 r.client ? r.client->id : "-", r.host, up, down, elapsed_ms(r), idle_timeout ? " (idle timeout)" : "");
}

}  // namespace creditgate::proxy
