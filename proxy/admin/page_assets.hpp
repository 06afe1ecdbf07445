#pragma once
// page_assets: the usage page's files (proxy/admin/page/), built into the binary by
// embed_page.cmake, each with its content type, its ETag and a gzip copy made once.

#include <cstddef>
#include <string>
#include <string_view>

namespace creditgate::proxy {

namespace page_files {
struct embedded_file {
    std::string_view path;  // "/index.html"
    std::string_view content_type;
    std::string_view etag;  // quoted, as the header carries it
    std::string_view body;
};
extern const embedded_file files[];
extern const std::size_t count;
}  // namespace page_files

struct page_asset {
    std::string_view content_type;
    std::string_view etag;
    std::string_view body;
    std::string gzip;  // empty when compressing would not pay
};

// The file served at `path` ("/" is /index.html); nullptr for any other path.
const page_asset* find_page_asset(std::string_view path);

// Whether an Accept-Encoding value admits gzip (a q=0 refuses it).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace creditgate::proxy
