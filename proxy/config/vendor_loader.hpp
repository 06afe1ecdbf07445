#pragma once
// vendor_loader: the "vendors" section of the config — built-in profiles by name, profiles from
// files, and `use` with its overrides — each problem reported under its own file and path.

#include "policies/json_input.hpp"
#include "policies/vendor_profile.hpp"

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace creditgate::proxy {

// Where the built-in profiles are when `vendors_dir` is unset and no `vendors` folder sits beside
// the config: P/share/creditgate/vendors for a binary installed as P/bin/creditgate (SPEC §13),
// else the source tree the binary was built from.
std::string builtin_vendors_dir();

class vendor_loader {
public:
    using path_resolver = std::function<std::string(const std::string&)>;  // relative to the config's folder

    vendor_loader(policies::issue_list& issues, const policies::env_lookup& env, std::string vendors_dir,
                  path_resolver absolute)
        : issues_(issues), env_(env), vendors_dir_(std::move(vendors_dir)), absolute_(std::move(absolute)) {}

    // `node` is the config's "vendors" list (null when absent); `parent` its object.
    // `dir_ok`: vendors_dir is a folder; when it is not, names are not looked up (the caller
    // reported the folder once) but still counted as unloaded.
    std::vector<policies::vendor_profile> load(const policies::json* node, policies::object_reader& parent, bool dir_ok);
    // Names listed that did not load (their error is already reported).
    const std::set<std::string>& unloaded() const { return unloaded_; }
    // Profiles loaded by "file" whose name is not their file's: file stem -> (file, name).
    const std::map<std::string, std::pair<std::string, std::string>>& renamed_files() const { return renamed_files_; }

private:
    std::optional<policies::vendor_profile> load_profile_file(const std::string& file, const std::string& config_path);
    std::optional<policies::vendor_profile> builtin(const std::string& name, const std::string& path);
    void apply_overrides(policies::object_reader& r, policies::vendor_profile& profile, bool from_file);
    const policies::vendor_profile* find(std::string_view name) const;

    policies::issue_list& issues_;
    const policies::env_lookup& env_;
    std::string vendors_dir_;
    path_resolver absolute_;
    std::vector<policies::vendor_profile> vendors_;
    std::set<std::string> unloaded_;
    std::map<std::string, std::pair<std::string, std::string>> renamed_files_;
    bool dir_ok_ = true;
};

}  // namespace creditgate::proxy
