#pragma once
// config_parser: the reader behind load_config, one section at a time (config.cpp: the document
// and its listeners; config_sections.cpp: storage, log, tls, limits, resolve; config_lists.cpp:
// vendors, accounts, clients, budgets). Every problem goes to the issue list with its JSON path.
// Private to the config room.

#include "proxy/config/config.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <set>

namespace creditgate::proxy {

class config_parser {
public:
    config_parser(std::string_view text, const std::string& path, const policies::env_lookup& env);
    config_result run();

private:
    config_result finish();
    std::string absolute(const std::string& p) const;

    // config.cpp
    void read_endpoint(policies::object_reader& r, std::string_view key, const std::string& text, endpoint& out);
    void read_admin(policies::object_reader& parent);
    void read_top_level(policies::object_reader& r, const policies::json& doc);
    // config_sections.cpp
    void read_storage(policies::object_reader& parent);
    void read_log(policies::object_reader& parent);
    void read_tls(policies::object_reader& parent);
    void read_limits(policies::object_reader& parent);
    void read_resolve(policies::object_reader& parent);
    // config_lists.cpp
    // Calls `item(node, path)` for each element of the list at `key`, or reports what it is not.
    void for_each_item(policies::object_reader& parent, std::string_view key, std::string_view what,
                       const std::function<void(const policies::json& node, const std::string& path)>& item);
    void read_vendors(policies::object_reader& parent);
    void read_accounts(policies::object_reader& parent);
    void read_clients(policies::object_reader& parent);
    void read_budgets(policies::object_reader& parent);
    void read_alerts(policies::object_reader& parent);
    void check_budget_references(const policies::budget_def& b, const std::string& path);
    void report_unknown_vendor(const std::string& path, const std::string& name);
    static std::string unknown_name(std::string_view what, const std::string& name, const std::vector<std::string>& known,
                                    std::string_view why = {});
    std::vector<std::string> client_ids() const;
    std::vector<std::string> team_names() const;
    bool has_team(const std::string& team) const;

    std::string_view text_;
    const policies::env_lookup& env_;
    policies::issue_list issues_;
    config cfg_;
    std::filesystem::path base_;
    std::set<std::string> unloaded_vendors_;  // listed in `vendors` but not loaded: already reported
    std::map<std::string, std::pair<std::string, std::string>> renamed_files_;  // vendor_loader::renamed_files
};

}  // namespace creditgate::proxy
