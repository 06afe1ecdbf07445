// The config document as a whole and its listeners; each other section has its reader in
// config_sections.cpp (scalars and objects) or config_lists.cpp (the lists of things).
#include "proxy/config/config_parser.hpp"
#include "policies/nearest_name.hpp"
#include "proxy/config/reader_names.hpp"

#include "policies/host_pattern.hpp"

#include <algorithm>
#include <filesystem>

namespace creditgate::proxy {
using namespace config_reading;

const policies::vendor_profile* config::find_vendor(std::string_view name) const {
    for (const auto& v : vendors)
        if (v.name == name) return &v;
    return nullptr;
}

std::function<std::string(const std::string& vendor)> units_of(const config& cfg) {
    return [&cfg](const std::string& vendor) {
        const auto* profile = cfg.find_vendor(vendor);
        return profile ? profile->unit : std::string("unknown");
    };
}

std::function<std::optional<std::string>(const std::string& client)> team_lookup(const config& cfg) {
    return [&cfg](const std::string& client) -> std::optional<std::string> {
        for (const auto& c : cfg.clients)
            if (c.id == client) return c.team;
        return std::nullopt;
    };
}

config_parser::config_parser(std::string_view text, const std::string& path, const policies::env_lookup& env)
    : text_(text), env_(env), issues_(path) {
    cfg_.file = fs::absolute(path).lexically_normal().string();
    base_ = fs::path(cfg_.file).parent_path();
}

config_result config_parser::run() {
    json doc = policies::parse_json_document(text_, env_, issues_);
    if (doc.is_null()) return finish();  // a syntax error; an unset variable still lets us check the rest
    object_reader r(doc, "", issues_);
    if (!r.valid()) return finish();

    if (auto listen = r.string("listen")) read_endpoint(r, "listen", *listen, cfg_.listen);
    cfg_.state_dir = absolute(r.string("state_dir").value_or("var"));
    if (auto threads = r.integer("threads", 0, 256)) cfg_.threads = static_cast<unsigned>(*threads);
    read_storage(r);
    read_log(r);
    read_tls(r);
    read_limits(r);
    read_resolve(r);
    read_vendors(r);
    read_accounts(r);
    read_clients(r);
    read_admin(r);  // after the clients: a viewer's team must be one of theirs
    read_budgets(r);
    read_alerts(r);
    read_top_level(r, doc);
    for (const char* section : {"budgets", "accounts", "vendors", "vendors_dir"})
        if (auto it = doc.find(section); it != doc.end()) cfg_.metering_fingerprint += it->dump();
    r.finish();
    return finish();
}

// unregistered_keys, passthrough, allow_private_destinations.
void config_parser::read_top_level(object_reader& r, const json&) {
    if (auto mode = r.string("unregistered_keys")) {
        if (*mode == "refuse") cfg_.refuse_unregistered_keys = true;
        else if (*mode != "allow") r.error("unregistered_keys", "must be \"allow\" or \"refuse\"");
    }
    if (auto hosts = r.string_list("passthrough")) {
        for (std::size_t i = 0; i < hosts->size(); ++i) {
            std::string host = policies::normalize_host((*hosts)[i]);
            if (!policies::is_valid_host_pattern(host))
                issues_.add(index_path("passthrough", i), "\"" + (*hosts)[i] + "\" is not a host name or pattern");
            cfg_.passthrough.push_back(std::move(host));
        }
    }
    if (auto allow = r.boolean("allow_private_destinations")) cfg_.allow_private_destinations = *allow;
}

config_result config_parser::finish() {
    config_result result{std::nullopt, std::move(issues_)};
    if (result.issues.empty()) result.value = std::move(cfg_);
    return result;
}

std::string config_parser::absolute(const std::string& p) const {
    fs::path path(p);
    if (path.is_relative()) path = base_ / path;
    return path.lexically_normal().string();
}

void config_parser::read_endpoint(object_reader& r, std::string_view key, const std::string& text, endpoint& out) {
    if (auto ep = parse_endpoint(text)) out = *ep;
    else r.error(key, "\"" + text + "\" is not HOST:PORT");
}

void config_parser::read_admin(object_reader& parent) {
    const json* node = parent.get("admin");
    if (!node) {
        issues_.add("admin.token", "is required (the admin endpoint is always token-guarded)");
        return;
    }
    object_reader r(*node, "admin", issues_);
    if (auto listen = r.string("listen")) read_endpoint(r, "listen", *listen, cfg_.admin_listen);
    // admin.token may be left out only when admin.tokens names another admin.
    const bool has_list = node->is_object() && node->contains("tokens");
    if (auto token = r.string("token", !has_list)) {
        if (token->empty()) r.error("token", "must not be empty");
        cfg_.admin_tokens.push_back({"admin", *token, admin_role::admin, {}});
    }
    for_each_item(r, "tokens", "tokens", [&](const json& item, const std::string& path) {
        object_reader t(item, "admin." + path, issues_);
        if (!t.valid()) return;
        admin_token_config token;
        token.name = t.string("name", true).value_or("");
        token.token = t.string("token", true).value_or("");
        const std::string role = t.string("role", true).value_or("admin");
        if (role == "viewer") token.role = admin_role::viewer;
        else if (role != "admin") t.error("role", "must be \"admin\" or \"viewer\"");
        if (auto team = t.string("team", token.role == admin_role::viewer)) token.team = *team;
        if (token.role == admin_role::admin && t.has("team")) t.error("team", "applies only to viewers (an admin sees every team)");
        if (token.role == admin_role::viewer && !token.team.empty() && !has_team(token.team))
            t.error("team", "no client is in team \"" + token.team + "\"" + policies::did_you_mean(token.team, team_names()));
        if (t.has("name") && token.name.empty()) t.error("name", "must not be empty");
        if (t.has("token") && token.token.empty()) t.error("token", "must not be empty");
        for (const auto& other : cfg_.admin_tokens) {
            if (!token.name.empty() && other.name == token.name) t.error("name", "token name \"" + token.name + "\" is used twice");
            if (!token.token.empty() && other.token == token.token) t.error("token", "the same token is given twice (as \"" + other.name + "\")");
        }
        t.finish();
        cfg_.admin_tokens.push_back(std::move(token));
    });
    r.finish();
}

config_result parse_config(std::string_view text, const std::string& path, const policies::env_lookup& env) {
    return config_parser(text, path, env).run();
}

config_result load_config(const std::string& path, const policies::env_lookup& env) {
    std::string text;
    if (!policies::read_text_file(path, text)) {
        config_result result;
        result.issues = issue_list(path);
        result.issues.add("", "cannot read the file");
        return result;
    }
    return parse_config(text, path, env);
}

}  // namespace creditgate::proxy
