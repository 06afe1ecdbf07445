#include "proxy/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <mutex>
#include <cerrno>
#include <cstring>
#include <ctime>

#include <fcntl.h>
#include <unistd.h>

namespace creditgate::proxy {
namespace {

std::atomic<bool> json_lines{false};
std::atomic<bool> access_enabled{true};
std::atomic<int> access_fd{STDERR_FILENO};
std::string log_path;  // log.file, for reopen_log_file (set once at start, before any thread)

// Writes whole lines to a file descriptor with one write() each. The log file has one
// descriptor for the logger and the access lines alike; reopening it (logrotate) dup2()s the
// new file onto that same number, so no writer ever holds a closed or reused descriptor.
class fd_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit fd_sink(int fd) : fd_(fd) {}

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t line;
        formatter_->format(msg, line);
        std::size_t done = 0;
        while (done < line.size()) {
            const ssize_t n = ::write(fd_, line.data() + done, line.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) return;  // a full disk must not stop the proxy
            done += static_cast<std::size_t>(n);
        }
    }
    void flush_() override {}

private:
    int fd_;
};

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

void install(std::vector<spdlog::sink_ptr> sinks, spdlog::level::level_enum level, bool json) {
    for (auto& sink : sinks) {
        if (json) sink->set_formatter(std::make_unique<json_formatter>());
        else sink->set_formatter(std::make_unique<spdlog::pattern_formatter>("%Y-%m-%dT%H:%M:%S.%eZ %l %n: %v",
                                                                            spdlog::pattern_time_type::utc));
    }
    auto main_logger = std::make_shared<spdlog::logger>("creditgate", sinks.begin(), sinks.end());
    main_logger->set_level(level);
    main_logger->flush_on(spdlog::level::warn);
    spdlog::set_default_logger(main_logger);
    json_lines = json;
    access_enabled = level <= spdlog::level::info;
}

}  // namespace

void setup_bootstrap_logging() {
    install({std::make_shared<spdlog::sinks::stderr_sink_mt>()}, spdlog::level::info, false);
}

bool setup_logging(const log_config& cfg, std::string& error) {
    std::vector<spdlog::sink_ptr> sinks;
    if (cfg.file) {
        const int fd = ::open(cfg.file->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            error = "cannot open log file " + *cfg.file + ": " + std::strerror(errno);
            return false;
        }
        log_path = *cfg.file;
        access_fd = fd;  // kept open for the life of the process; reopen_log_file() swaps the file behind it
        sinks.push_back(std::make_shared<fd_sink>(fd));
        // Whatever stops the proxy is also said on the terminal (SPEC §13): a service manager
        // shows it even when the file is somewhere nobody looks.
        auto terminal = std::make_shared<spdlog::sinks::stderr_sink_mt>();
        terminal->set_level(spdlog::level::critical);
        sinks.push_back(terminal);
    } else {
        sinks.push_back(std::make_shared<spdlog::sinks::stderr_sink_mt>());
    }
    install(std::move(sinks), spdlog::level::from_str(cfg.level), cfg.format == log_format::json);
    return true;
}

bool reopen_log_file(std::string& error) {
    if (log_path.empty()) return true;  // stderr: nothing to reopen
    flush_access_log();  // this thread's lines go to the old file, where they belong
    const int fresh = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fresh < 0) {
        error = "cannot reopen log file " + log_path + ": " + std::strerror(errno);
        return false;
    }
    const int fd = access_fd.load();
    const bool ok = ::dup3(fresh, fd, O_CLOEXEC) == fd;
    if (!ok) error = "cannot reopen log file " + log_path + ": " + std::strerror(errno);
    ::close(fresh);
    return ok;
}

namespace {

// Access lines are formatted by hand into a buffer of the worker's own thread and written
// out in blocks: no lock and no formatter per request (they cost ~10% of the CPU the
// proxy spends on a small request). Lines are whole in every write, so several threads
// appending to one file or stderr never interleave within a line.
struct access_buffer {
    std::string text;
    ~access_buffer() { flush(); }
    void flush() {
        if (text.empty()) return;
        const int fd = access_fd.load(std::memory_order_relaxed);
        std::size_t done = 0;
        while (done < text.size()) {
            const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;  // a full disk must not stop the proxy; the ledger is the record
            done += static_cast<std::size_t>(n);
        }
        text.clear();
    }
};
thread_local access_buffer access_lines;
constexpr std::size_t access_flush_bytes = 8 * 1024;

}  // namespace

std::string& access_line_buffer() { return access_lines.text; }

void access_line_written() {
    if (access_lines.text.size() >= access_flush_bytes) access_lines.flush();
}

bool access_log_enabled() { return access_enabled.load(std::memory_order_relaxed); }
bool access_log_json() { return json_lines.load(std::memory_order_relaxed); }

void flush_access_log() { access_lines.flush(); }

}  // namespace creditgate::proxy
