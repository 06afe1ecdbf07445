#include "proxy/admin/page_assets.hpp"

#include <zlib.h>

#include <cctype>
#include <map>

namespace creditgate::proxy {
namespace {

// gzip (not zlib) framing, best compression: done once per file at the first request.
std::string gzip(std::string_view text) {
    z_stream z{};
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) return {};
    std::string out(deflateBound(&z, static_cast<uLong>(text.size())) + 32, '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
    z.avail_in = static_cast<uInt>(text.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = deflate(&z, Z_FINISH);
    out.resize(z.total_out);
    deflateEnd(&z);
    if (rc != Z_STREAM_END || out.size() + 64 >= text.size()) return {};
    return out;
}

const std::map<std::string_view, page_asset>& table() {
    static const auto assets = [] {
        std::map<std::string_view, page_asset> out;
        for (std::size_t i = 0; i < page_files::count; ++i) {
            const auto& f = page_files::files[i];
            out.emplace(f.path, page_asset{f.content_type, f.etag, f.body, gzip(f.body)});
        }
        return out;
    }();
    return assets;
}

}  // namespace

const page_asset* find_page_asset(std::string_view path) {
    if (path == "/") path = "/index.html";
    const auto& assets = table();
    const auto it = assets.find(path);
    return it == assets.end() ? nullptr : &it->second;
}

bool accepts_gzip(std::string_view value) {
    while (!value.empty()) {
        const auto comma = value.find(',');
        std::string_view item = value.substr(0, comma);
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        const auto semi = item.find(';');
        std::string_view coding = item.substr(0, semi);
        while (!coding.empty() && coding.back() == ' ') coding.remove_suffix(1);
        if (coding.size() != 4 && coding != "*") continue;
        bool gzip_name = coding == "*";
        if (coding.size() == 4) {
            gzip_name = true;
            for (std::size_t i = 0; i < 4; ++i)
                if (std::tolower(static_cast<unsigned char>(coding[i])) != "gzip"[i]) gzip_name = false;
        }
        if (!gzip_name) continue;
        if (semi == std::string_view::npos) return true;
        // "q=0", "q=0.0", "q=0.000" refuse; any other weight accepts.
        std::string_view params = item.substr(semi + 1);
        const auto q = params.find("q=");
        if (q == std::string_view::npos) return true;
        for (char c : params.substr(q + 2)) {
            if (c == ' ' || c == ';') break;
            if (c != '0' && c != '.') return true;
        }
        return false;
    }
    return false;
}

}  // namespace creditgate::proxy
