// The config's lists: vendors (and their profiles), accounts, clients, budgets, and what budgets
// refer to; alert targets.
#include "proxy/config/config_parser.hpp"
#include "proxy/config/reader_names.hpp"

#include "policies/account_ref.hpp"
#include "proxy/config/secret_hash.hpp"
#include "proxy/config/vendor_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <set>

#ifndef CREDITGATE_BUILTIN_VENDORS_DIR
#define CREDITGATE_BUILTIN_VENDORS_DIR ""
#endif

namespace creditgate::proxy {
using namespace config_reading;

void config_parser::read_vendors(object_reader& parent) {
    if (auto dir = parent.string("vendors_dir")) {
        cfg_.vendors_dir = absolute(*dir);
    } else {
        std::error_code ec;
        const fs::path beside = base_ / "vendors";
        cfg_.vendors_dir = fs::is_directory(beside, ec) ? beside.string() : CREDITGATE_BUILTIN_VENDORS_DIR;
    }
    vendor_loader loader(issues_, env_, cfg_.vendors_dir, [this](const std::string& p) { return absolute(p); });
    cfg_.vendors = loader.load(parent.get("vendors"), parent);
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
        if (!a.vendor.empty() && !cfg_.find_vendor(a.vendor)) r.error("vendor", "unknown vendor \"" + a.vendor + "\"");
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
        issues_.add(join_path(path, "scope.client"), "unknown client \"" + *s.client + "\"");
    if (s.team && std::none_of(cfg_.clients.begin(), cfg_.clients.end(), [&](auto& c) { return c.team == *s.team; }))
        issues_.add(join_path(path, "scope.team"), "unknown team \"" + *s.team + "\" (no client belongs to it)");
    if (s.account && std::none_of(cfg_.accounts.begin(), cfg_.accounts.end(), [&](auto& a) { return a.id == *s.account; }))
        issues_.add(join_path(path, "scope.account"), "unknown account \"" + *s.account + "\"");

    const std::string vendor_path = join_path(path, "vendor");
    if (b.vendor != "*" && !cfg_.find_vendor(b.vendor)) {
        issues_.add(vendor_path, "unknown vendor \"" + b.vendor + "\"");
        return;
    }
    if (b.kind == policies::budget_kind::money) {
        for (const auto& v : cfg_.vendors) {
            if ((b.vendor == "*" || v.name == b.vendor) && !v.usd_per_unit)
                issues_.add(vendor_path, "a money budget covers vendor \"" + v.name + "\", whose profile has no usd_per_unit");
        }
    }
}

}  // namespace creditgate::proxy

namespace creditgate::proxy {
using namespace config_reading;

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
                if (!kind) issues_.add(r.path_of("on") + "[" + std::to_string(i) + "]",
                                       "unknown event \"" + (*kinds)[i] + "\" (soft_limit, budget_exhausted, account_exhausted, poll_error, forecast)");
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
