// The config's scalar and object sections: storage, log, tls, limits, resolve.
#include "proxy/config/config_parser.hpp"
#include "proxy/config/reader_names.hpp"

#include "policies/host_pattern.hpp"

#include <filesystem>
#include <set>

namespace creditgate::proxy {
using namespace config_reading;

void config_parser::read_storage(object_reader& parent) {
    const json* node = parent.get("storage");
    if (!node) return;
    object_reader r(*node, "storage", issues_);
    if (auto kind = r.string("kind")) {
        if (*kind == "sqlite") cfg_.storage.kind = storage_kind::sqlite;
        else if (*kind == "memory") cfg_.storage.kind = storage_kind::memory;
        else if (*kind == "postgres") cfg_.storage.kind = storage_kind::postgres;
        else r.error("kind", "must be \"sqlite\", \"memory\" or \"postgres\"");
    }
    if (auto ms = r.integer("flush_ms", 1, 60'000)) cfg_.storage.flush_ms = *ms;
    const bool postgres = cfg_.storage.kind == storage_kind::postgres;
    if (auto url = r.string("url", postgres)) {
        if (url->empty()) r.error("url", "must not be empty");
        cfg_.storage.url = *url;
    }
    if (auto instance = r.string("instance")) {
        if (instance->empty() || instance->size() > 200) r.error("instance", "must be 1 to 200 characters");
        cfg_.storage.instance = *instance;
    }
    if (auto rows = r.integer("buffer_rows", 1, 100'000'000)) cfg_.storage.buffer_rows = *rows;
    if (auto days = r.integer("retention_days", 0, 100'000)) cfg_.storage.retention_days = *days;
    if (const json* lease = r.get("lease")) {
        object_reader l(*lease, "storage.lease", issues_);
        if (auto target = l.integer("target_s", 1, 3600)) cfg_.storage.lease_target_s = *target;
        if (auto ttl = l.integer("ttl_s", 3, 3600)) cfg_.storage.lease_ttl_s = *ttl;
        l.finish();
    }
    if (!postgres) {
        for (const char* key : {"url", "instance", "lease", "buffer_rows"})
            if (node->contains(key)) r.error(key, "applies only with \"kind\": \"postgres\"");
    }
    if (auto on_failure = r.string("on_failure")) {
        if (*on_failure == "reject") cfg_.storage.on_failure = storage_failure::reject;
        else if (*on_failure == "allow") cfg_.storage.on_failure = storage_failure::allow;
        else r.error("on_failure", "must be \"reject\" or \"allow\"");
    }
    r.finish();
}

void config_parser::read_log(object_reader& parent) {
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

void config_parser::read_tls(object_reader& parent) {
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

void config_parser::read_limits(object_reader& parent) {
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

void config_parser::read_resolve(object_reader& parent) {
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

}  // namespace creditgate::proxy
