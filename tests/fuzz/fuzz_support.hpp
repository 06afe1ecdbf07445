#pragma once
// What the fuzz targets share: a property that does not hold is a crash libFuzzer keeps (the
// input that broke it lands in the crash file), and the shipped vendor profiles, loaded once.

#include "policies/json_input.hpp"
#include "policies/vendor_profile.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#define FUZZ_REQUIRE(cond)                                                                  \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            std::fprintf(stderr, "property failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                   \
        }                                                                                   \
    } while (0)

inline const std::vector<creditgate::policies::vendor_profile>& shipped_profiles() {
    using namespace creditgate::policies;
    static const std::vector<vendor_profile> profiles = [] {
        std::vector<vendor_profile> out;
        for (const char* name : {"scraperapi", "multicart", "crustdata", "helius", "neuji", "scrapingbee", "zenrows"}) {
            const std::string file = std::string(CREDITGATE_SOURCE_DIR) + "/config/vendors/" + name + ".json";
            std::ifstream in(file);
            std::stringstream text;
            text << in.rdbuf();
            issue_list issues(file);
            const json doc = parse_json_document(text.str(), [](std::string_view) { return std::nullopt; }, issues);
            if (auto p = read_vendor_profile(doc, "", issues)) out.push_back(std::move(*p));
        }
        if (out.size() != 7) std::abort();
        return out;
    }();
    return profiles;
}

// Splits the input at the first occurrences of '\x1e' (a record separator fuzzers learn fast).
inline std::vector<std::string_view> fields_of(std::string_view data, std::size_t count) {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i + 1 < count; ++i) {
        const auto at = data.find('\x1e');
        out.push_back(data.substr(0, at));
        data = at == std::string_view::npos ? std::string_view() : data.substr(at + 1);
    }
    out.push_back(data);
    return out;
}
