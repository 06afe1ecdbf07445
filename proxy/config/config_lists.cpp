// The config's lists: vendors (and their profiles), accounts, clients, budgets, and what budgets
// refer to; alert targets.
#include "proxy/config/config_parser.hpp"
#include "proxy/config/reader_names.hpp"

#include "policies/account_ref.hpp"
#include "policies/nearest_name.hpp"
#include "proxy/config/secret_hash.hpp"
#include "proxy/config/vendor_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

namespace creditgate::proxy {
using namespace config_reading;

void config_parser::read_vendors(object_reader& parent) {
    if (auto dir = parent.string("vendors_dir")) {
        cfg_.vendors_dir = absolute(*dir);
    } else {
        std::error_code ec;
        const fs::path beside = base_ / "vendors";
        cfg_.vendors_dir = fs::is_directory(beside, ec) ? beside.string() : builtin_vendors_dir();
    }
    std::error_code ec;
    const bool dir_ok = fs::is_directory(cfg_.vendors_dir, ec);
    if (!dir_ok && parent.has("vendors_dir")) {
        // One error for the folder, none for each name it would have held.
        std::vector<std::string> siblings;
        const fs::path dir(cfg_.vendors_dir);
        for (const auto& e : fs::directory_iterator(dir.parent_path(), ec))
            if (e.is_directory(ec)) siblings.push_back(e.path().string());
        parent.error("vendors_dir", "no folder " + cfg_.vendors_dir + policies::did_you_mean(cfg_.vendors_dir, siblings));
    }
    vendor_loader loader(issues_, env_, cfg_.vendors_dir, [this](const std::string& p) { return absolute(p); });
    cfg_.vendors = loader.load(parent.get("vendors"), parent, dir_ok);
    unloaded_vendors_ = loader.unloaded();
    renamed_files_ = loader.renamed_files();
}

// A vendor a budget or an account names but `vendors` does not load: say why, unless the entry
// that should have loaded it already did (a bad profile or folder is one error, not one per use).
void config_parser::report_unknown_vendor(const std::string& path, const std::string& name) {
    if (unloaded_vendors_.count(name)) return;
    std::error_code ec;
    const fs::path profile = fs::path(cfg_.vendors_dir) / (name + ".json");
    std::string message = "unknown vendor \"";
    message.append(name).append("\"");
    if (auto renamed = renamed_files_.find(name); renamed != renamed_files_.end()) {
        message.append(": ").append(renamed->second.first).append(" is the profile \"").append(renamed->second.second);
        message.append("\" (its \"name\")");
    } else if (!name.empty() && name.find('/') == std::string::npos && fs::is_regular_file(profile, ec)) {
        message.append(": its profile is in ").append(cfg_.vendors_dir).append(" but \"").append(name);
        message.append("\" is not listed in \"vendors\"");
    } else {
        std::vector<std::string> active;
        for (const auto& v : cfg_.vendors) active.push_back(v.name);
        message += policies::did_you_mean(name, active);
    }
    issues_.add(path, std::move(message));
}

std::string config_parser::unknown_name(std::string_view what, const std::string& name, const std::vector<std::string>& known,
                                        std::string_view why) {
    std::string message = "unknown ";
    message.append(what).append(" \"").append(name).append("\"").append(why);
    message += policies::did_you_mean(name, known);
    return message;
}

std::vector<std::string> config_parser::client_ids() const {
    std::vector<std::string> ids;
    for (const auto& c : cfg_.clients) ids.push_back(c.id);
    return ids;
}

std::vector<std::string> config_parser::team_names() const {
    std::vector<std::string> teams;
    for (const auto& c : cfg_.clients)
        if (std::find(teams.begin(), teams.end(), c.team) == teams.end()) teams.push_back(c.team);
    return teams;
}

bool config_parser::has_team(const std::string& team) const {
    return std::any_of(cfg_.clients.begin(), cfg_.clients.end(), [&](const auto& c) { return c.team == team; });
}

void config_parser::for_each_item(object_reader& parent, std::string_view key, std::string_view what,
                                  const std::function<void(const json& node, const std::string& path)>& item) {
    const json* node = parent.get(key);
    if (!node) return;
    if (!node->is_array()) {
        parent.error(key, "expected a list of " + std::string(what));
        return;
    }
    for (std::size_t i = 0; i < node->size(); ++i) item((*node)[i], index_path(key, i));
}

void config_parser::read_accounts(object_reader& parent) {
    std::set<std::string> injecting;  // vendors with an injecting account: at most one each
    for_each_item(parent, "accounts", "accounts", [&](const json& node, const std::string& path) {
        object_reader r(node, path, issues_);
        if (!r.valid()) return;
        account_config a;
        a.id = r.string("id", true).value_or("");
        a.vendor = r.string("vendor", true).value_or("");
        a.api_key = r.string("api_key");
        a.inject = r.boolean("inject").value_or(false);
        if (auto s = r.integer("poll_interval_s", 1, 86'400)) a.poll_interval_s = *s;
        if (const json* params = r.get("params")) {
            object_reader p(*params, r.path_of("params"), issues_);
            if (p.valid())
                for (const auto& [name, value] : params->items())
                    if (auto s = p.string(name)) a.params[name] = *s;
            p.finish();
        }
        if (a.id == policies::account_ref::unregistered_name) r.error("id", "\"unregistered\" is reserved for calls with unknown keys");
        for (const auto& other : cfg_.accounts)
            if (!a.id.empty() && other.id == a.id) r.error("id", "account \"" + a.id + "\" is defined twice");
        if (!a.vendor.empty() && !cfg_.find_vendor(a.vendor)) report_unknown_vendor(r.path_of("vendor"), a.vendor);
        if (a.inject) {
            if (!a.api_key || a.api_key->empty()) r.error("inject", "an injecting account needs an api_key");
            if (!injecting.insert(a.vendor).second)
                r.error("inject", "vendor \"" + a.vendor + "\" already has an injecting account");
        }
        r.finish();
        cfg_.accounts.push_back(std::move(a));
    });
}

void config_parser::read_clients(object_reader& parent) {
    for_each_item(parent, "clients", "clients", [&](const json& node, const std::string& path) {
        object_reader r(node, path, issues_);
        if (!r.valid()) return;
        client_config c;
        c.id = r.string("id", true).value_or("");
        c.team = r.string("team", true).value_or("");
        c.secret = r.string("secret").value_or("");
        c.secret_hash = r.string("secret_hash");
        if (r.has("secret") == r.has("secret_hash")) r.error("secret", "give either \"secret\" or \"secret_hash\"");
        std::string hash_error;
        if (c.secret_hash && !parse_secret_hash(*c.secret_hash, hash_error)) r.error("secret_hash", hash_error);
        if (r.has("id") && c.id.empty()) r.error("id", "must not be empty");
        if (c.id.find(':') != std::string::npos) r.error("id", "must not contain ':' (it is the Basic user name)");
        if (r.has("secret") && c.secret.empty()) r.error("secret", "must not be empty");
        if (r.has("team") && c.team.empty()) r.error("team", "must not be empty");
        for (const auto& other : cfg_.clients)
            if (!c.id.empty() && other.id == c.id) r.error("id", "client \"" + c.id + "\" is defined twice");
        r.finish();
        cfg_.clients.push_back(std::move(c));
    });
}

void config_parser::read_budgets(object_reader& parent) {
    for_each_item(parent, "budgets", "budgets", [&](const json& node, const std::string& path) {
        auto budget = policies::read_budget(node, path, issues_);
        if (!budget) return;
        if (budget->on_exceed == policies::exceed_action::queue && !node.contains("queue_timeout_ms")) {
            std::string note = policies::join_path(path, "queue_timeout_ms");
            note.append(": not set; a queued call waits at most ").append(std::to_string(budget->queue_timeout_ms));
            note.append(" ms (the default), then gets 429 queue_timeout");
            cfg_.notes.push_back(std::move(note));
        }
        check_budget_references(*budget, path);
        cfg_.budgets.push_back(std::move(*budget));
    });
}

void config_parser::check_budget_references(const policies::budget_def& b, const std::string& path) {
    using policies::join_path;
    for (const auto& other : cfg_.budgets)
        if (other.id == b.id) issues_.add(join_path(path, "id"), "budget \"" + b.id + "\" is defined twice");
    const auto& s = b.scope;
    if (s.client && std::none_of(cfg_.clients.begin(), cfg_.clients.end(), [&](auto& c) { return c.id == *s.client; }))
        issues_.add(join_path(path, "scope.client"), unknown_name("client", *s.client, client_ids()));
    if (s.team && !has_team(*s.team))
        issues_.add(join_path(path, "scope.team"), unknown_name("team", *s.team, team_names(), " (no client belongs to it)"));
    if (s.account && std::none_of(cfg_.accounts.begin(), cfg_.accounts.end(), [&](auto& a) { return a.id == *s.account; })) {
        std::vector<std::string> ids;
        for (const auto& a : cfg_.accounts) ids.push_back(a.id);
        issues_.add(join_path(path, "scope.account"), unknown_name("account", *s.account, ids));
    }

    const std::string vendor_path = join_path(path, "vendor");
    if (b.vendor != "*" && !cfg_.find_vendor(b.vendor)) {
        report_unknown_vendor(vendor_path, b.vendor);
        return;
    }
    if (b.kind == policies::budget_kind::money) {
        for (const auto& v : cfg_.vendors) {
            if ((b.vendor == "*" || v.name == b.vendor) && !v.usd_per_unit)
                issues_.add(vendor_path, "a money budget covers vendor \"" + v.name + "\", whose profile has no usd_per_unit");
        }
    }
}

void config_parser::read_alerts(object_reader& parent) {
    for_each_item(parent, "alerts", "alerts", [&](const json& node, const std::string& path) {
        object_reader r(node, path, issues_);
        if (!r.valid()) return;
        alert_config a;
        a.name = r.string("name", true).value_or("");
        if (r.has("name") && a.name.empty()) r.error("name", "must not be empty");
        for (const auto& other : cfg_.alerts)
            if (!a.name.empty() && other.name == a.name) r.error("name", "alert \"" + a.name + "\" is defined twice");
        if (auto url = r.string("url", true)) {
            // The URL is a secret (Slack's carries its token): errors never repeat it.
            auto parsed = policies::parse_absolute_target(*url);
            if (!parsed) r.error("url", "is not an http:// or https:// URL");
            else {
                a.url = std::move(*parsed);
                a.described = a.url.https ? "https://" : "http://";
                a.described.append(a.url.where.host);
                if (a.url.explicit_port) a.described.append(":").append(std::to_string(a.url.where.port));
            }
        }
        if (auto format = r.string("format")) {
            if (*format == "slack") a.format = alert_format::slack;
            else if (*format != "json") r.error("format", "must be \"slack\" or \"json\"");
        }
        if (auto kinds = r.string_list("on")) {
            for (std::size_t i = 0; i < kinds->size(); ++i) {
                auto kind = policies::parse_alert_kind((*kinds)[i]);
                if (!kind) {
                    const std::vector<std::string> events{"soft_limit", "budget_exhausted", "account_exhausted", "poll_error", "forecast"};
                    issues_.add(index_path(r.path_of("on"), i),
                                unknown_name("event", (*kinds)[i], events, " (soft_limit, budget_exhausted, account_exhausted, poll_error, forecast)"));
                }
                else if (std::find(a.on.begin(), a.on.end(), *kind) == a.on.end()) a.on.push_back(*kind);
            }
            if (kinds->empty()) r.error("on", "names no event; leave it out for every event");
        } else {
            a.on.assign(std::begin(policies::all_alert_kinds), std::end(policies::all_alert_kinds));
        }
        r.finish();
        cfg_.alerts.push_back(std::move(a));
    });
}

}  // namespace creditgate::proxy
