#include "proxy/config.hpp"

#include "proxy/vendor_loader.hpp"

#include "policies/host_pattern.hpp"

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#ifndef CREDITGATE_BUILTIN_VENDORS_DIR
#define CREDITGATE_BUILTIN_VENDORS_DIR ""
#endif

namespace creditgate::proxy {
namespace fs = std::filesystem;
using policies::index_path;
using policies::issue_list;
using policies::json;
using policies::object_reader;

std::string endpoint::to_string() const {
    if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
    return host + ":" + std::to_string(port);
}

std::optional<endpoint> parse_endpoint(std::string_view text) {
    std::string_view host, port;
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') return std::nullopt;
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        boost::system::error_code ec;
        boost::asio::ip::make_address_v6(std::string(host), ec);
        if (ec) return std::nullopt;
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos || text.find(':') != colon) return std::nullopt;
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() || value > 65535)
        return std::nullopt;
    return endpoint{std::string(host), static_cast<std::uint16_t>(value)};
}

const policies::vendor_profile* config::find_vendor(std::string_view name) const {
    for (const auto& v : vendors)
        if (v.name == name) return &v;
    return nullptr;
}

namespace {


class config_parser {
public:
    config_parser(std::string_view text, const std::string& path, const policies::env_lookup& env)
        : text_(text), env_(env), issues_(path) {
        cfg_.file = fs::absolute(path).lexically_normal().string();
        base_ = fs::path(cfg_.file).parent_path();
    }

    config_result run() {
        json doc = policies::parse_json_document(text_, env_, issues_);
        if (doc.is_null()) return finish();  // a syntax error; an unset variable still lets us check the rest
        object_reader r(doc, "", issues_);
        if (!r.valid()) return finish();

        if (auto listen = r.string("listen")) read_endpoint(r, "listen", *listen, cfg_.listen);
        read_admin(r);
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
        read_budgets(r);
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
        for (const char* section : {"budgets", "accounts", "vendors", "vendors_dir"})
            if (auto it = doc.find(section); it != doc.end()) cfg_.metering_fingerprint += it->dump();
        r.finish();
        return finish();
    }

private:
    config_result finish() {
        config_result result{std::nullopt, std::move(issues_)};
        if (result.issues.empty()) result.value = std::move(cfg_);
        return result;
    }

    std::string absolute(const std::string& p) const {
        fs::path path(p);
        if (path.is_relative()) path = base_ / path;
        return path.lexically_normal().string();
    }

    void read_endpoint(object_reader& r, std::string_view key, const std::string& text, endpoint& out) {
        if (auto ep = parse_endpoint(text)) out = *ep;
        else r.error(key, "\"" + text + "\" is not HOST:PORT");
    }

    void read_admin(object_reader& parent) {
        const json* node = parent.get("admin");
        if (!node) {
            issues_.add("admin.token", "is required (the admin endpoint is always token-guarded)");
            return;
        }
        object_reader r(*node, "admin", issues_);
        if (auto listen = r.string("listen")) read_endpoint(r, "listen", *listen, cfg_.admin_listen);
        if (auto token = r.string("token", true)) {
            if (token->empty()) r.error("token", "must not be empty");
            cfg_.admin_token = *token;
        }
        r.finish();
    }

    void read_storage(object_reader& parent) {
        const json* node = parent.get("storage");
        if (!node) return;
        object_reader r(*node, "storage", issues_);
        if (auto kind = r.string("kind")) {
            if (*kind == "sqlite") cfg_.storage.kind = storage_kind::sqlite;
            else if (*kind == "memory") cfg_.storage.kind = storage_kind::memory;
            else if (*kind == "postgres") r.error("kind", "\"postgres\" is planned but not available yet; use \"sqlite\" or \"memory\"");
            else r.error("kind", "must be \"sqlite\" or \"memory\"");
        }
        if (auto ms = r.integer("flush_ms", 1, 60'000)) cfg_.storage.flush_ms = *ms;
        if (auto on_failure = r.string("on_failure")) {
            if (*on_failure == "reject") cfg_.storage.on_failure = storage_failure::reject;
            else if (*on_failure == "allow") cfg_.storage.on_failure = storage_failure::allow;
            else r.error("on_failure", "must be \"reject\" or \"allow\"");
        }
        r.finish();
    }

    void read_log(object_reader& parent) {
        const json* node = parent.get("log");
        if (!node) return;
        object_reader r(*node, "log", issues_);
        if (auto level = r.string("level")) {
            static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
            if (!levels.count(*level)) r.error("level", "must be one of trace, debug, info, warn, error, critical, off");
            cfg_.log.level = *level;
        }
        if (auto format = r.string("format")) {
            if (*format == "text") cfg_.log.format = log_format::text;
            else if (*format == "json") cfg_.log.format = log_format::json;
            else r.error("format", "must be \"text\" or \"json\"");
        }
        if (auto file = r.string("file")) cfg_.log.file = absolute(*file);
        r.finish();
    }

    void read_tls(object_reader& parent) {
        cfg_.tls.ca_dir = (fs::path(cfg_.state_dir) / "ca").string();
        const json* node = parent.get("tls");
        if (!node) return;
        object_reader r(*node, "tls", issues_);
        if (auto mitm = r.boolean("mitm")) cfg_.tls.mitm = *mitm;
        if (auto dir = r.string("ca_dir")) cfg_.tls.ca_dir = absolute(*dir);
        if (auto file = r.string("upstream_ca_file")) {
            cfg_.tls.upstream_ca_file = absolute(*file);
            std::error_code ec;
            if (!fs::is_regular_file(*cfg_.tls.upstream_ca_file, ec))
                r.error("upstream_ca_file", "cannot read " + *cfg_.tls.upstream_ca_file);
        }
        r.finish();
    }

    void read_limits(object_reader& parent) {
        const json* node = parent.get("limits");
        if (!node) return;
        object_reader r(*node, "limits", issues_);
        auto& l = cfg_.limits;
        auto bytes = [&](const char* key, std::uint64_t& out, std::int64_t min) {
            if (auto v = r.integer(key, min, std::int64_t{1} << 40)) out = static_cast<std::uint64_t>(*v);
        };
        auto seconds = [&](const char* key, std::int64_t& out) {
            if (auto v = r.integer(key, 1, 86'400)) out = *v;
        };
        bytes("header_bytes", l.header_bytes, 1024);
        bytes("request_inspect_bytes", l.request_inspect_bytes, 1024);
        bytes("response_inspect_bytes", l.response_inspect_bytes, 1024);
        seconds("header_read_s", l.header_read_s);
        seconds("request_body_s", l.request_body_s);
        seconds("client_idle_s", l.client_idle_s);
        seconds("upstream_connect_s", l.upstream_connect_s);
        seconds("upstream_response_s", l.upstream_response_s);
        seconds("upstream_idle_s", l.upstream_idle_s);
        if (auto v = r.integer("shutdown_grace_s", 0, 86'400)) l.shutdown_grace_s = *v;
        if (auto v = r.integer("max_queue", 0, 10'000'000)) l.max_queue = *v;
        r.finish();
    }

    void read_resolve(object_reader& parent) {
        const json* node = parent.get("resolve");
        if (!node) return;
        if (!node->is_object() || policies::is_decimal(*node)) {
            parent.error("resolve", "expected an object of \"host:port\": \"address:port\"");
            return;
        }
        for (const auto& [key, value] : node->items()) {
            const std::string path = policies::join_path("resolve", key);
            auto from = parse_endpoint(key);
            if (!from) {
                issues_.add(path, "the key \"" + key + "\" is not HOST:PORT");
                continue;
            }
            auto target_text = policies::read_string(value, path, issues_);
            if (!target_text) continue;
            auto to = parse_endpoint(*target_text);
            if (!to) {
                issues_.add(path, "\"" + *target_text + "\" is not ADDRESS:PORT");
                continue;
            }
            from->host = policies::normalize_host(from->host);
            cfg_.resolve[from->to_string()] = *to;
        }
    }

    void read_vendors(object_reader& parent) {
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

    void read_accounts(object_reader& parent) {
        const json* node = parent.get("accounts");
        if (!node) return;
        if (!node->is_array()) {
            parent.error("accounts", "expected a list of accounts");
            return;
        }
        std::set<std::string> injecting;
        for (std::size_t i = 0; i < node->size(); ++i) {
            object_reader r((*node)[i], index_path("accounts", i), issues_);
            if (!r.valid()) continue;
            account_config a;
            a.id = r.string("id", true).value_or("");
            a.vendor = r.string("vendor", true).value_or("");
            a.api_key = r.string("api_key");
            a.inject = r.boolean("inject").value_or(false);
            if (auto s = r.integer("poll_interval_s", 1, 86'400)) a.poll_interval_s = *s;
            if (const json* params = r.get("params")) {
                object_reader p(*params, r.path_of("params"), issues_);
                if (p.valid()) {
                    for (const auto& [key, value] : params->items())
                        if (auto s = p.string(key)) a.params[key] = *s;
                }
                p.finish();
            }
            if (a.id == "unregistered") r.error("id", "\"unregistered\" is reserved for calls with unknown keys");
            for (const auto& other : cfg_.accounts)
                if (!a.id.empty() && other.id == a.id) r.error("id", "account \"" + a.id + "\" is defined twice");
            if (!a.vendor.empty() && !cfg_.find_vendor(a.vendor))
                r.error("vendor", "unknown vendor \"" + a.vendor + "\"");
            if (a.inject) {
                if (!a.api_key || a.api_key->empty()) r.error("inject", "an injecting account needs an api_key");
                if (!injecting.insert(a.vendor).second)
                    r.error("inject", "vendor \"" + a.vendor + "\" already has an injecting account");
            }
            r.finish();
            cfg_.accounts.push_back(std::move(a));
        }
    }

    void read_clients(object_reader& parent) {
        const json* node = parent.get("clients");
        if (!node) return;
        if (!node->is_array()) {
            parent.error("clients", "expected a list of clients");
            return;
        }
        for (std::size_t i = 0; i < node->size(); ++i) {
            object_reader r((*node)[i], index_path("clients", i), issues_);
            if (!r.valid()) continue;
            client_config c;
            c.id = r.string("id", true).value_or("");
            c.team = r.string("team", true).value_or("");
            c.secret = r.string("secret", true).value_or("");
            if (r.has("id") && c.id.empty()) r.error("id", "must not be empty");
            if (c.id.find(':') != std::string::npos) r.error("id", "must not contain ':' (it is the Basic user name)");
            if (r.has("secret") && c.secret.empty()) r.error("secret", "must not be empty");
            if (r.has("team") && c.team.empty()) r.error("team", "must not be empty");
            for (const auto& other : cfg_.clients)
                if (!c.id.empty() && other.id == c.id) r.error("id", "client \"" + c.id + "\" is defined twice");
            r.finish();
            cfg_.clients.push_back(std::move(c));
        }
    }

    void read_budgets(object_reader& parent) {
        const json* node = parent.get("budgets");
        if (!node) return;
        if (!node->is_array()) {
            parent.error("budgets", "expected a list of budgets");
            return;
        }
        for (std::size_t i = 0; i < node->size(); ++i) {
            const std::string path = index_path("budgets", i);
            auto budget = policies::read_budget((*node)[i], path, issues_);
            if (!budget) continue;
            check_budget_references(*budget, path);
            cfg_.budgets.push_back(std::move(*budget));
        }
    }

    void check_budget_references(const policies::budget_def& b, const std::string& path) {
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

    std::string_view text_;
    const policies::env_lookup& env_;
    issue_list issues_;
    config cfg_;
    fs::path base_;
};

}  // namespace

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
