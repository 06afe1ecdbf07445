#include "proxy/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
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
    spdlog::set_default_logger(main_logger);
    json_lines = json;
    access_enabled = level <= spdlog::level::info;
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
        const int fd = ::open(cfg.file->c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            error = "cannot open log file " + *cfg.file + ": " + std::strerror(errno);
            return false;
        }
        access_fd = fd;  // kept open for the life of the process
    } else {
        sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    install({sink}, spdlog::level::from_str(cfg.level), cfg.format == log_format::json);
    return true;
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

// Writes the pieces of one line into room reserved beforehand: one size check a line, not
// one a piece (std::string's appends were most of the ~2.7k instructions a line took).
class line_writer {
public:
    explicit line_writer(char* at) : p_(at) {}
    template <std::size_t N>
    void put(const char (&literal)[N]) {
        std::memcpy(p_, literal, N - 1);
        p_ += N - 1;
    }
    void put(std::string_view s) {
        if (!s.empty()) std::memcpy(p_, s.data(), s.size());
        p_ += s.size();
    }
    void put(char c) { *p_++ = c; }

    // Decimal digits without printf.
    void put_uint(std::uint64_t value, int min_digits = 1) {
        char buf[24];
        char* p = buf + sizeof buf;
        do {
            *--p = static_cast<char>('0' + value % 10);
            value /= 10;
            --min_digits;
        } while (value != 0 || min_digits > 0);
        put(std::string_view(p, static_cast<std::size_t>(buf + sizeof buf - p)));
    }

    // Quoted, with JSON's escapes: at most 6 bytes for each byte of `s`, plus the quotes.
    void put_json(std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        put('"');
        for (char c : s) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                put('\\');
                put(c);
            } else if (u < 0x20) {
                put("\\u00");
                put(hex[u >> 4]);
                put(hex[u & 0xf]);
            } else {
                put(c);
            }
        }
        put('"');
    }

    void put_utc_now() {
        const auto now = std::chrono::system_clock::now().time_since_epoch();
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now);
        const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
        // The date part changes once a second: format it then, not per line.
        thread_local std::time_t cached_second = -1;
        thread_local char cached[24];
        thread_local std::size_t cached_size = 0;
        const std::time_t t = secs.count();
        if (t != cached_second) {
            std::tm tm{};
            gmtime_r(&t, &tm);
            cached_size = std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
            cached_second = t;
        }
        put(std::string_view(cached, cached_size));
        put('.');
        put_uint(static_cast<std::uint64_t>(millis), 3);
        put('Z');
    }

    void put_millis(std::chrono::steady_clock::duration elapsed) {
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count();
        put_uint(static_cast<std::uint64_t>(micros / 1000));
        put('.');
        put_uint(static_cast<std::uint64_t>(micros % 1000), 3);
    }

    char* end() const { return p_; }

private:
    char* p_;
};

// The fields of an access line, in one order for both formats: JSON members
// (,"key":"value") or key=value pairs with "-" for empty values.
struct access_fields {
    line_writer& w;
    bool json;

    void begin() {
        if (json) {
            w.put("{\"ts\":\"");
            w.put_utc_now();
            w.put("\",\"level\":\"info\",\"logger\":\"access\"");
        } else {
            w.put_utc_now();
            w.put(" info access:");
        }
    }
    void end() { w.put(json ? std::string_view("}\n") : std::string_view("\n")); }

    void key(std::string_view k) {
        if (json) {
            w.put(",\"");
            w.put(k);
            w.put("\":");
        } else {
            w.put(' ');
            w.put(k);
            w.put('=');
        }
    }
    void text(std::string_view k, std::string_view value) {
        key(k);
        if (json) w.put_json(value);
        else w.put(or_dash(value));
    }
    void raw(std::string_view k, std::string_view value) {  // a number already formatted
        key(k);
        w.put(value);
    }
    void number(std::string_view k, std::uint64_t value) {
        key(k);
        w.put_uint(value);
    }
    void millis(std::string_view k, std::chrono::steady_clock::duration elapsed) {
        key(k);
        w.put_millis(elapsed);
    }
};

}  // namespace

void log_access(const exchange_record& r, std::chrono::steady_clock::duration elapsed) {
    if (!access_enabled.load(std::memory_order_relaxed)) return;
    const std::string_view client = r.client ? std::string_view(r.client->id) : std::string_view{};
    const std::string_view team = r.client ? std::string_view(r.client->team) : std::string_view{};
    const std::string cost = r.cost ? r.cost->to_string() : std::string("-");
    const bool json = json_lines.load(std::memory_order_relaxed);

    // Room for the longest line these values can make: the literals, the timestamp and numbers
    // (under 300 bytes; 400 reserved), and every string escaped at its worst.
    std::size_t strings = r.request_id.size() + client.size() + team.size() + r.method.size() + r.host.size() +
                          r.path.size() + r.outcome.size() + r.vendor.size() + r.account.size() + r.decision.size() +
                          cost.size();
    std::string& out = access_lines.text;
    const std::size_t at = out.size();
    out.resize(at + 400 + (json ? 6 * strings + 2 * 11 : strings + 11));
    line_writer w(out.data() + at);
    access_fields f{w, json};
    f.begin();
    f.text("id", r.request_id);
    f.text("client", client);
    f.text("team", team);
    f.text("method", r.method);
    f.text("host", r.host);
    f.text("path", r.path);
    f.number("status", r.status);
    f.number("bytes", r.bytes_sent);
    f.millis("ms", elapsed);
    f.text("outcome", r.outcome);
    if (!r.vendor.empty()) {
        f.text("vendor", r.vendor);
        f.text("account", r.account);
        f.text("decision", r.decision);
        if (r.cost || !json) f.raw("cost", cost);  // text lines say "cost=-"
    }
    f.end();
    out.resize(static_cast<std::size_t>(w.end() - out.data()));
    if (out.size() >= access_flush_bytes) access_lines.flush();
}

void flush_access_log() { access_lines.flush(); }

void log_tunnel(const exchange_record& r, std::uint64_t up, std::uint64_t down, bool idle_timeout) {
    spdlog::info("tunnel id={} client={} host={} up={} down={} ms={:.0f}{}", r.request_id,
                 r.client ? r.client->id : "-", r.host, up, down, elapsed_ms(r), idle_timeout ? " (idle timeout)" : "");
}

}  // namespace creditgate::proxy
