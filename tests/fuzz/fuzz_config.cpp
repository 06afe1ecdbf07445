// Config files and vendor profiles as people write them: every problem comes back as an issue
// with a path, never as a crash, and a config that validates holds only amounts in range.
#include "fuzz_support.hpp"
#include "proxy/config/config.hpp"

using namespace creditgate;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const policies::env_lookup env = [](std::string_view name) -> std::optional<std::string> {
        if (name == "SET") return std::string("value");
        return std::nullopt;
    };
    // As a profile.
    policies::issue_list issues("fuzz.json");
    const auto doc = policies::parse_json_document(text, env, issues);
    if (!doc.is_null()) {
        if (auto p = policies::read_vendor_profile(doc, "", issues)) {
            FUZZ_REQUIRE(p->cost.default_cost.in_range() && !p->cost.default_cost.is_negative());
            for (const auto& r : p->cost.rules) FUZZ_REQUIRE(r.value.in_range() && !r.value.is_negative());
        }
    }
    // As a config (vendors_dir resolves to the shipped profiles beside the fuzz binary's source).
    const auto result = proxy::parse_config(text, std::string(CREDITGATE_SOURCE_DIR) + "/tests/fuzz/fuzz-config.json", env);
    if (result.value) {
        for (const auto& b : result.value->budgets) FUZZ_REQUIRE(b.limit.in_range());
    } else {
        FUZZ_REQUIRE(!result.issues.empty());
        for (const auto& i : result.issues.items()) FUZZ_REQUIRE(!i.message.empty());
    }
    return 0;
}
