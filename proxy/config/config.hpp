#pragma once
// config: the validated configuration of SPEC §3. load_config reports every problem at
// once, each with its file and JSON path; a config that comes back has passed them all.

#include "policies/alerts.hpp"
#include "policies/request_target.hpp"
#include "policies/budget.hpp"
#include "policies/json_input.hpp"
#include "policies/vendor_profile.hpp"
#include "proxy/net/endpoint.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace creditgate::proxy {

struct limits_config {
    std::uint64_t header_bytes = 16384;
    std::uint64_t request_inspect_bytes = 1048576;
    std::uint64_t response_inspect_bytes = 8388608;
    std::int64_t header_read_s = 10;
    std::int64_t request_body_s = 60;  // the whole upload of one request body, from the end of its head
    std::int64_t client_idle_s = 60;
    std::int64_t upstream_connect_s = 10;
    std::int64_t upstream_response_s = 120;
    std::int64_t upstream_idle_s = 60;
    std::int64_t shutdown_grace_s = 30;
    std::int64_t max_queue = 1000;
};

enum class storage_kind { sqlite, memory, postgres };
enum class storage_failure { reject, allow };
struct storage_config {
    storage_kind kind = storage_kind::sqlite;
    std::int64_t flush_ms = 100;
    storage_failure on_failure = storage_failure::reject;
    // postgres (SPEC §10)
    std::string url;                      // a secret: never logged
    std::optional<std::string> instance;  // default "<hostname>:<proxy port>" ("<hostname>:pid<pid>" on port 0)
    std::int64_t lease_target_s = 10, lease_ttl_s = 30;
    std::int64_t buffer_rows = 100'000;
    std::int64_t retention_days = 400;  // 0 keeps every row (SPEC §7)
};

enum class log_format { text, json };
struct log_config {
    std::string level = "info";
    log_format format = log_format::text;
    std::optional<std::string> file;
};

struct tls_config {
    bool mitm = true;
    std::string ca_dir;  // resolved: <state_dir>/ca when not given
    std::optional<std::string> upstream_ca_file;
};

struct account_config {
    std::string id;
    std::string vendor;
    std::optional<std::string> api_key;  // secret: never logged or shown
    bool inject = false;
    std::int64_t poll_interval_s = 60;
    std::map<std::string, std::string> params;
};

struct client_config {
    std::string id;
    std::string team;
    std::string secret;                      // never logged or shown; empty when hashed
    std::optional<std::string> secret_hash{};  // "pbkdf2-sha256$..." (SPEC §13)
};

// A bearer token of the admin listener (SPEC §8). `admin.token` is one named "admin".
enum class admin_role { admin, viewer };
struct admin_token_config {
    std::string name;   // logged with each request instead of the token
    std::string token;  // secret: never logged or shown
    admin_role role = admin_role::admin;
    std::string team;   // viewers: the one team they see
};

// Where alert events go (SPEC §12). The URL is a secret: only `described` is ever logged.
enum class alert_format { slack, json };
struct alert_config {
    std::string name;
    policies::absolute_target url;  // http or https
    std::string described;          // "https://hooks.example.com" (no path, no query)
    alert_format format = alert_format::json;
    std::vector<policies::alert_kind> on;  // every kind when not given
};

struct config {
    std::string file;  // absolute path of the config file
    // What is valid but worth saying: a default the file relies on ("path: message").
    std::vector<std::string> notes;
    endpoint listen{"127.0.0.1", 8080};
    endpoint admin_listen{"127.0.0.1", 9090};
    std::vector<admin_token_config> admin_tokens;
    std::string state_dir;
    unsigned threads = 0;
    storage_config storage;
    log_config log;
    tls_config tls;
    limits_config limits;
    std::map<std::string, endpoint> resolve;  // "host:port" (normalised) -> where to dial
    std::string vendors_dir;
    std::vector<policies::vendor_profile> vendors;
    std::vector<account_config> accounts;
    std::vector<client_config> clients;
    std::vector<policies::budget_def> budgets;
    std::vector<alert_config> alerts;
    bool refuse_unregistered_keys = false;
    std::vector<std::string> passthrough;  // normalised host patterns
    bool allow_private_destinations = false;
    // The budgets, accounts and vendors sections as written (after ${} expansion): equal
    // fingerprints let a reload keep the live budget counters. Holds secrets: never printed.
    std::string metering_fingerprint;

    const policies::vendor_profile* find_vendor(std::string_view name) const;
};

// A vendor's unit by name, for usage rows; "unknown" for a vendor no longer configured. The
// function refers to `cfg`, which must outlive it.
std::function<std::string(const std::string& vendor)> units_of(const config& cfg);
// A client's team by id; nullopt for no such client. Refers to `cfg` likewise.
std::function<std::optional<std::string>(const std::string& client)> team_lookup(const config& cfg);

struct config_result {
    std::optional<config> value;
    policies::issue_list issues;
};

// The folders and files the config will write that cannot be written (state_dir, log.file, a CA
// to create), one message each; empty when all can. Not part of validity: check-config reports
// them, serve exits 1 on them (SPEC §13), and a reload is not refused for a log folder.
std::vector<std::string> unwritable_paths(const config& cfg);

// Reads and validates the file at `path`.
config_result load_config(const std::string& path, const policies::env_lookup& env);

// Validates `text` as if it were the file `path` (relative paths resolve against its folder).
config_result parse_config(std::string_view text, const std::string& path, const policies::env_lookup& env);

}  // namespace creditgate::proxy
