// The access log: one line per exchange, formatted by hand into the worker thread's own buffer
// (logging.hpp's access sink) and written out in blocks. Nothing secret is ever written: paths
// without their query, credentials never.
#include "proxy/exchange/access_log.hpp"

#include "proxy/logging.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <ctime>

namespace creditgate::proxy {
namespace {

std::string_view or_dash(std::string_view s) { return s.empty() ? std::string_view("-") : s; }

double elapsed_ms(const exchange_record& r) {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - r.started).count();
}

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

    // As it is, but a control byte becomes '?': one call stays one line whatever a value holds
    // (the HTTP parser already refuses them in heads; config ids are the operator's own text).
    void put_plain(std::string_view s) {
        for (char c : s) {
            const auto u = static_cast<unsigned char>(c);
            put(u < 0x20 || u == 0x7f ? '?' : c);
        }
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
        else w.put_plain(or_dash(value));
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
    if (!access_log_enabled()) return;
    const std::string_view client = r.client ? std::string_view(r.client->id) : std::string_view{};
    const std::string_view team = r.client ? std::string_view(r.client->team) : std::string_view{};
    const std::string cost = r.cost ? r.cost->to_string() : std::string("-");
    const bool json = access_log_json();

    // Room for the longest line these values can make: the literals, the timestamp and numbers
    // (under 300 bytes; 400 reserved), and every string escaped at its worst.
    const std::string_view outcome = outcome_name(r);
    const std::string_view decision = r.decision ? policies::to_string(*r.decision) : std::string_view();
    std::size_t strings = r.request_id.size() + client.size() + team.size() + r.method.size() + r.host.size() +
                          r.path.size() + outcome.size() + r.vendor.size() + r.account.size() + decision.size() +
                          cost.size();
    std::string& out = access_line_buffer();
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
    f.text("outcome", outcome);
    if (!r.vendor.empty()) {
        f.text("vendor", r.vendor);
        f.text("account", r.account);
        f.text("decision", decision);
        if (r.cost || !json) f.raw("cost", cost);  // text lines say "cost=-"
    }
    f.end();
    out.resize(static_cast<std::size_t>(w.end() - out.data()));
    access_line_written();
}

void log_tunnel(const exchange_record& r, std::uint64_t up, std::uint64_t down, bool idle_timeout) {
    spdlog::info("tunnel id={} client={} host={} up={} down={} ms={:.0f}{}", r.request_id,
                 r.client ? r.client->id : "-", r.host, up, down, elapsed_ms(r), idle_timeout ? " (idle timeout)" : "");
}

}  // namespace creditgate::proxy
