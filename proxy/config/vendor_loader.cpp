#include "proxy/config/vendor_loader.hpp"
#include "proxy/config/reader_names.hpp"

#include "policies/host_pattern.hpp"
#include "policies/nearest_name.hpp"

#include <filesystem>

#ifndef CREDITGATE_BUILTIN_VENDORS_DIR
#define CREDITGATE_BUILTIN_VENDORS_DIR ""
#endif

namespace creditgate::proxy {
using namespace config_reading;

std::string builtin_vendors_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path installed = exe.parent_path().parent_path() / "share" / "creditgate" / "vendors";
        if (fs::is_directory(installed, ec)) return installed.string();
    }
    return CREDITGATE_BUILTIN_VENDORS_DIR;
}

const policies::vendor_profile* vendor_loader::find(std::string_view name) const {
    for (const auto& v : vendors_)
        if (v.name == name) return &v;
    return nullptr;
}

std::optional<policies::vendor_profile> vendor_loader::load_profile_file(const std::string& file, const std::string& config_path) {
    std::string text;
    if (!policies::read_text_file(file, text)) {
        issues_.add(config_path, "cannot read vendor profile " + file);
        return std::nullopt;
    }
    issue_list profile_issues(file);
    json doc = policies::parse_json_document(text, env_, profile_issues);
    std::optional<policies::vendor_profile> profile;
    if (profile_issues.empty()) profile = policies::read_vendor_profile(doc, "", profile_issues);
    issues_.append(profile_issues);
    return profile;
}

std::vector<policies::vendor_profile> vendor_loader::load(const json* node, object_reader& parent, bool dir_ok) {
    dir_ok_ = dir_ok;
    if (!node) return std::move(vendors_);
    if (!node->is_array()) {
        parent.error("vendors", "expected a list of vendor names or objects");
        return std::move(vendors_);
    }
    for (std::size_t i = 0; i < node->size(); ++i) {
        const json& item = (*node)[i];
        const std::string path = index_path("vendors", i);
        std::optional<policies::vendor_profile> profile;
        if (item.is_string()) {
            profile = builtin(item.get<std::string>(), path);
        } else {
            object_reader r(item, path, issues_);
            if (!r.valid()) continue;
            auto file = r.string("file");
            auto use = r.string("use");
            if (file.has_value() == use.has_value()) {
                issues_.add(path, "give either \"file\" or \"use\"");
            } else if (file) {
                profile = load_profile_file(absolute_(*file), policies::join_path(path, "file"));
                const std::string stem = fs::path(*file).stem().string();
                if (profile && profile->name != stem) renamed_files_[stem] = {absolute_(*file), profile->name};
            } else {
                profile = builtin(*use, policies::join_path(path, "use"));
            }
            if (profile) apply_overrides(r, *profile, file.has_value());
            if (!profile && use) unloaded_.insert(*use);
            if (!profile && file) unloaded_.insert(fs::path(*file).stem().string());
            r.finish();
        }
        if (!profile && item.is_string()) unloaded_.insert(item.get<std::string>());
        if (!profile) continue;
        if (find(profile->name)) {
            issues_.add(path, "vendor \"" + profile->name + "\" is listed twice");
            continue;
        }
        vendors_.push_back(std::move(*profile));
    }
    return std::move(vendors_);
}

std::optional<policies::vendor_profile> vendor_loader::builtin(const std::string& name, const std::string& path) {
    const bool plain = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    });
    if (!plain) {
        issues_.add(path, "\"" + name + "\" is not a vendor name");
        return std::nullopt;
    }
    if (!dir_ok_) return std::nullopt;  // the folder's one error says it
    const std::string file = (fs::path(vendors_dir_) / (name + ".json")).string();
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) {
        std::vector<std::string> shipped;
        for (const auto& e : fs::directory_iterator(vendors_dir_, ec))
            if (e.path().extension() == ".json") shipped.push_back(e.path().stem().string());
        std::string message = "unknown vendor \"";
        message.append(name).append("\" (no ").append(file).append(")");
        message += policies::did_you_mean(name, shipped);
        const fs::path builtin_file = fs::path(builtin_vendors_dir()) / (name + ".json");
        if (fs::path(vendors_dir_) != fs::path(builtin_vendors_dir()) && fs::is_regular_file(builtin_file, ec))
            message.append("; it is a built-in profile (").append(builtin_file.string()).append("): set \"vendors_dir\" to ")
                .append(builtin_vendors_dir()).append(" or copy it there");
        issues_.add(path, std::move(message));
        return std::nullopt;
    }
    auto profile = load_profile_file(file, path);
    if (profile && profile->name != name) {
        // Budgets and accounts would say "unknown vendor" for either name: say which file is wrong.
        issues_.add(path, file + " is the profile \"" + profile->name + "\"; a profile's \"name\" must be its file name (\"" +
                              name + "\")");
        return std::nullopt;
    }
    return profile;
}

// `use` may override hosts (replaced), upstream_tls, usd_per_unit and balance.host.
void vendor_loader::apply_overrides(object_reader& r, policies::vendor_profile& profile, bool from_file) {
    if (from_file) return;
    if (auto hosts = r.string_list("hosts")) {
        profile.hosts.clear();
        for (std::size_t i = 0; i < hosts->size(); ++i) {
            std::string host = policies::normalize_host((*hosts)[i]);
            if (!policies::is_valid_host_pattern(host))
                issues_.add(index_path(r.path_of("hosts"), i), "\"" + (*hosts)[i] + "\" is not a host name or pattern");
            profile.hosts.push_back(std::move(host));
        }
        if (hosts->empty()) r.error("hosts", "must name at least one host");
    }
    if (auto tls = r.string("upstream_tls")) {
        if (auto mode = policies::parse_upstream_tls(*tls)) profile.upstream_tls = *mode;
        else r.error("upstream_tls", "must be \"always\", \"never\" or \"as_client\"");
    }
    if (auto price = r.amount("usd_per_unit")) profile.usd_per_unit = price;
    if (const json* balance = r.get("balance")) {
        object_reader b(*balance, r.path_of("balance"), issues_);
        if (auto host = b.string("host")) {
            if (profile.balance) profile.balance->host = *host;
            else b.error("host", "vendor \"" + profile.name + "\" has no balance endpoint to move");
        }
        b.finish();
    }
}

}  // namespace creditgate::proxy
