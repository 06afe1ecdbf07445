#pragma once
// Loads a shipped vendor profile for tests.
#include "policies/json_input.hpp"
#include "policies/vendor_profile.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

inline creditgate::policies::vendor_profile load_profile(const std::string& name) {
    using namespace creditgate::policies;
    const std::string file = std::string(CREDITGATE_SOURCE_DIR) + "/config/vendors/" + name + ".json";
    std::ifstream in(file);
    std::stringstream text;
    text << in.rdbuf();
    issue_list issues(file);
    const json doc = parse_json_document(text.str(), [](std::string_view) { return std::nullopt; }, issues);
    auto profile = read_vendor_profile(doc, "", issues);
    if (!profile) throw std::runtime_error("profile " + name + " does not load");
    return *profile;
}
