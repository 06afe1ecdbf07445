// creditgate: the command line of SPEC §2. Exit codes: 0 ok, 1 runtime failure,
// 2 usage or configuration error.

#include "certs/ca.hpp"
#include "policies/store/pg_queries.hpp"
#include "policies/store/retention.hpp"
#include "policies/store/sqlite_store.hpp"
#include "policies/store/usage_report.hpp"
#include "proxy/admin/admin_views.hpp"
#include "proxy/app.hpp"
#include "proxy/budget_report.hpp"
#include "proxy/estimate_command.hpp"
#include "proxy/config/config.hpp"
#include "proxy/config/secret_hash.hpp"
#include "proxy/logging.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#ifndef CREDITGATE_VERSION
#define CREDITGATE_VERSION "0.0.0"
#endif

namespace {

constexpr int exit_ok = 0;
constexpr int exit_runtime = 1;
constexpr int exit_usage = 2;

constexpr const char* usage_text =
    "usage:\n"
    "  creditgate [serve] --config FILE        run the proxy (default command)\n"
    "  creditgate check-config --config FILE   validate; print every error with its JSON path\n"
    "  creditgate report --config FILE [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
    "                    [--group-by client,team,vendor,account,day,hour] [--format table|csv|json]\n"
    "                    [--client ID] [--team T] [--vendor V] [--budgets]\n"
    "                                          usage from the ledger in state_dir (also while serving)\n"
    "  creditgate ca init|show --config FILE   create the local CA if missing / print its path and fingerprint\n"
    "  creditgate estimate --config FILE [--client C] [--format table|json] URL...\n"
    "                                          what each URL would cost, and whether the budgets hold it\n"
    "  creditgate backup --config FILE --to PATH\n"
    "                                          a consistent copy of the SQLite ledger, also while serving\n"
    "  creditgate prune --config FILE [--before YYYY-MM-DD]\n"
    "                                          delete finished ledger rows older than storage.retention_days now\n"
    "  creditgate hash-secret                  read a client secret from stdin, print its secret_hash\n"
    "  creditgate --version | --help\n"
    "\n"
    "Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.\n"
    "Once listening, serve prints one line to stdout:\n"
    "  creditgate listening proxy=HOST:PORT admin=HOST:PORT\n";

int usage_error(const std::string& message) {
    std::fprintf(stderr, "creditgate: %s\n%s", message.c_str(), usage_text);
    return exit_usage;
}

struct arguments {
    std::string command = "serve";
    std::string subcommand;  // ca init | ca show
    std::string config;
    std::vector<std::pair<std::string, std::string>> report;  // report options, as usage parameters
    std::optional<std::string> before;                         // prune --before YYYY-MM-DD
    std::string client;                                        // estimate --client
    std::vector<std::string> urls;                             // estimate URL...
    bool json = false;                                         // estimate --format json
    bool budgets = false;                                      // report --budgets
    std::string to;                                            // backup --to PATH
};

// Returns an exit code when the arguments are handled (help, version, errors).
std::optional<int> parse_arguments(int argc, char** argv, arguments& out) {
    std::vector<std::string> args(argv + 1, argv + argc);
    std::size_t i = 0;
    if (i < args.size() && !args[i].empty() && args[i][0] != '-') out.command = args[i++];
    if (out.command == "ca") {
        if (i >= args.size() || (args[i] != "init" && args[i] != "show")) return usage_error("ca needs init or show");
        out.subcommand = args[i++];
    }
    for (; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (a == "--help" || a == "-h") {
            std::fputs(usage_text, stdout);
            return exit_ok;
        }
        if (a == "--version") {
            std::printf("creditgate %s\n", CREDITGATE_VERSION);
            return exit_ok;
        }
        if (a == "--config" || a == "-c") {
            if (i + 1 >= args.size()) return usage_error("--config needs a file");
            out.config = args[++i];
        } else if (a.rfind("--config=", 0) == 0) {
            out.config = a.substr(9);
        } else if (out.command == "estimate" && a == "--client") {
            if (i + 1 >= args.size()) return usage_error("--client needs a client id");
            out.client = args[++i];
        } else if (out.command == "estimate" && a == "--format") {
            if (i + 1 >= args.size() || (args[i + 1] != "json" && args[i + 1] != "table")) return usage_error("--format needs table or json");
            out.json = args[++i] == "json";
        } else if (out.command == "estimate" && a.rfind("--", 0) != 0) {
            out.urls.push_back(a);
        } else if (out.command == "backup" && a == "--to") {
            if (i + 1 >= args.size()) return usage_error("--to needs a path");
            out.to = args[++i];
        } else if (out.command == "prune" && (a == "--before" || a.rfind("--before=", 0) == 0)) {
            if (a == "--before" && i + 1 >= args.size()) return usage_error("--before needs a date YYYY-MM-DD");
            out.before = a == "--before" ? args[++i] : a.substr(9);
        } else if (out.command == "report" && a == "--budgets") {
            out.budgets = true;
        } else if (out.command == "report" && a.rfind("--", 0) == 0) {
            // --from X or --from=X; the names are the usage route's parameters.
            std::string name = a.substr(2), value;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name.resize(eq);
            } else if (i + 1 < args.size()) {
                value = args[++i];
            } else {
                return usage_error(a + " needs a value");
            }
            if (name == "group-by") name = "group_by";
            if (name != "from" && name != "to" && name != "group_by" && name != "format" && name != "client" &&
                name != "team" && name != "vendor")
                return usage_error("unknown report option \"" + a + "\"");
            out.report.emplace_back(name, value);
        } else {
            return usage_error("unknown argument \"" + a + "\"");
        }
    }
    if (out.command != "serve" && out.command != "check-config" && out.command != "ca" && out.command != "report" &&
        out.command != "prune" && out.command != "estimate" && out.command != "backup" && out.command != "hash-secret")
        return usage_error("unknown command \"" + out.command + "\"");
    if (out.command == "hash-secret") return std::nullopt;  // needs no config
    if (out.config.empty()) return usage_error(out.command + " needs --config FILE");
    if (out.command == "estimate" && out.urls.empty()) return usage_error("estimate needs at least one URL");
    if (out.command == "backup" && out.to.empty()) return usage_error("backup needs --to PATH");
    return std::nullopt;
}

// `creditgate hash-secret`: the secret on stdin (one trailing newline stripped, so `echo` and a
// here-string work), its "pbkdf2-sha256$..." on stdout for the config's `secret_hash`.
int run_hash_secret() {
    std::string secret;
    char chunk[4096];
    for (std::size_t n; (n = std::fread(chunk, 1, sizeof chunk, stdin)) > 0;) secret.append(chunk, n);
    if (!secret.empty() && secret.back() == '\n') secret.pop_back();
    if (!secret.empty() && secret.back() == '\r') secret.pop_back();
    if (secret.empty()) {
        std::fprintf(stderr, "creditgate: hash-secret: no secret on stdin\n");
        return exit_usage;
    }
    std::printf("%s\n", creditgate::proxy::make_secret_hash(secret).c_str());
    return exit_ok;
}

int run_ca_command(const std::string& what, const creditgate::proxy::config& cfg) {
    using namespace creditgate;
    std::string error;
    bool created = false;
    auto ca = what == "init" ? certs::load_or_create_ca(cfg.tls.ca_dir, error, &created) : certs::load_ca(cfg.tls.ca_dir, error);
    if (!ca) {
        std::fprintf(stderr, "creditgate: %s%s\n", error.c_str(),
                     what == "show" ? " (creditgate ca init creates it)" : "");
        return exit_runtime;
    }
    if (what == "init") std::printf("%s %s\n", created ? "created" : "exists", ca->cert_path.c_str());
    std::printf("path %s\nsha256 %s\n", ca->cert_path.c_str(), certs::sha256_fingerprint(ca->cert.get()).c_str());
    return exit_ok;
}

// The same query as GET /api/v1/usage, read from the database while a proxy may be writing it.
// A consistent copy of the SQLite ledger while the proxy may be running (SPEC §7).
int run_backup(const std::string& to, const creditgate::proxy::config& cfg) {
    using namespace creditgate;
    if (cfg.storage.kind == proxy::storage_kind::postgres) {
        std::fprintf(stderr, "creditgate: backup: storage.kind is \"postgres\": back the fleet's database up with pg_dump "
                             "(pg_dump -Fc -f creditgate.dump DBNAME), and restore it with pg_restore\n");
        return exit_usage;
    }
    if (cfg.storage.kind == proxy::storage_kind::memory) {
        std::fprintf(stderr, "creditgate: backup: storage.kind is \"memory\": there is no ledger to copy\n");
        return exit_runtime;
    }
    const std::string from = proxy::ledger_path(cfg);
    if (!std::filesystem::exists(from)) {
        std::fprintf(stderr, "creditgate: %s: no ledger yet\n", from.c_str());
        return exit_runtime;
    }
    std::string error;
    const auto pages = policies::sqlite_store::backup_file(from, to, error);
    if (!pages) {
        std::fprintf(stderr, "creditgate: backup: %s\n", error.c_str());
        return exit_runtime;
    }
    std::printf("backed up %s to %s (%lld pages); restore: stop creditgate, copy it to %s, start it\n", from.c_str(), to.c_str(),
                static_cast<long long>(*pages), from.c_str());
    return exit_ok;
}

// The retention pass now (SPEC §7, §13), while the proxy may be serving: the SQLite ledger takes
// it in small transactions.
int run_prune(const std::optional<std::string>& before_text, const creditgate::proxy::config& cfg) {
    using namespace creditgate;
    std::optional<policies::civil_date> before;
    if (before_text) {
        before = policies::parse_civil_date(*before_text);
        if (!before) return usage_error("--before: expected a date YYYY-MM-DD, got \"" + *before_text + "\"");
    }
    if (cfg.storage.kind == proxy::storage_kind::memory) {
        std::fprintf(stderr, "creditgate: storage.kind is \"memory\": there is no ledger to prune\n");
        return exit_runtime;
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    const auto plan = policies::plan_retention(proxy::utc_today(), cfg.storage.retention_days, before, cfg.budgets, now);
    if (!plan.before) {
        std::printf("%s\n", plan.note.c_str());
        return exit_ok;
    }
    std::string error;
    if (cfg.storage.kind == proxy::storage_kind::postgres) {
        // The fleet's ledger, directly: pruning joins no fleet.
        auto db = policies::pg_connection::connect(cfg.storage.url, 5, error);
        if (!db) {
            std::fprintf(stderr, "creditgate: storage.url: cannot connect to PostgreSQL: %s\n", error.c_str());
            return exit_runtime;
        }
        const auto deleted = policies::pg_prune(*db, *plan.before);
        if (!deleted) {
            std::fprintf(stderr, "creditgate: %s: the retention pass failed: %s\n", db->describe().c_str(), db->error().c_str());
            return exit_runtime;
        }
        std::printf("pruned %lld finished rows: %s; their days stay in the daily roll-up\n", static_cast<long long>(*deleted), plan.note.c_str());
        return exit_ok;
    }
    policies::sqlite_options options;
    options.path = proxy::ledger_path(cfg);
    options.read_only = true;  // to check that it is a ledger; the serving proxy keeps its writer
    if (!policies::sqlite_store::open(options, error)) {
        std::fprintf(stderr, "creditgate: %s\n", error.c_str());
        return exit_runtime;
    }
    const auto deleted = policies::sqlite_store::prune_file(options.path, *plan.before);
    if (!deleted) {
        std::fprintf(stderr, "creditgate: %s: the retention pass failed (a ledger of schema 1 is upgraded by starting `serve` once)\n",
                     options.path.c_str());
        return exit_runtime;
    }
    std::printf("pruned %lld finished rows: %s; their days stay in the daily roll-up\n", static_cast<long long>(*deleted), plan.note.c_str());
    return exit_ok;
}

int run_report(const std::vector<std::pair<std::string, std::string>>& options, const creditgate::proxy::config& cfg) {
    using namespace creditgate;
    bool has_format = false;
    for (const auto& [name, value] : options) has_format = has_format || name == "format";
    auto params = options;
    if (!has_format) params.emplace_back("format", "table");
    auto request = policies::parse_usage_request(params, proxy::utc_today());
    if (!request.value) return usage_error(request.error);
    if (cfg.storage.kind == proxy::storage_kind::memory) {
        std::fprintf(stderr, "creditgate: storage.kind is \"memory\": there is no ledger to report on\n");
        return exit_runtime;
    }
    std::string error;
    std::optional<std::vector<policies::usage_row>> rows;
    if (cfg.storage.kind == proxy::storage_kind::postgres) {
        // The fleet's ledger, read directly: a report joins no fleet.
        auto db = policies::pg_connection::connect(cfg.storage.url, 5, error);
        if (!db) {
            std::fprintf(stderr, "creditgate: storage.url: cannot connect to PostgreSQL: %s\n", error.c_str());
            return exit_runtime;
        }
        rows = policies::pg_usage(*db, request.value->query);
        if (!rows) {
            std::fprintf(stderr, "creditgate: %s: the ledger cannot be read: %s\n", db->describe().c_str(), db->error().c_str());
            return exit_runtime;
        }
    } else {
        policies::sqlite_options options_db;
        options_db.path = proxy::ledger_path(cfg);
        options_db.read_only = true;
        auto store = policies::sqlite_store::open(options_db, error);
        if (!store) {
            std::fprintf(stderr, "creditgate: %s\n", error.c_str());
            return exit_runtime;
        }
        rows = store->usage(request.value->query);
        if (!rows) {
            std::fprintf(stderr, "creditgate: %s: the ledger cannot be read\n", options_db.path.c_str());
            return exit_runtime;
        }
    }
    policies::assign_units(*rows, proxy::units_of(cfg));
    std::string out;
    switch (request.value->format) {
        case policies::report_format::table: out = policies::usage_table(request.value->query, *rows); break;
        case policies::report_format::csv: out = policies::usage_csv(request.value->query, *rows); break;
        case policies::report_format::json: out = policies::dump_exact(policies::usage_json(request.value->query, *rows), 2) + "\n"; break;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return exit_ok;
}

}  // namespace

int main(int argc, char** argv) {
    using namespace creditgate;
    arguments args;
    if (auto code = parse_arguments(argc, argv, args)) return *code;
    if (args.command == "hash-secret") return run_hash_secret();

    proxy::setup_bootstrap_logging();
    auto result = proxy::load_config(args.config, policies::process_environment());
    if (!result.value) {
        for (const auto& line : result.issues.formatted()) std::fprintf(stderr, "%s\n", line.c_str());
        std::fprintf(stderr, "creditgate: %zu configuration error%s\n", result.issues.items().size(),
                     result.issues.items().size() == 1 ? "" : "s");
        return exit_usage;
    }
    const bool starts = args.command == "check-config" || args.command == "serve";
    const auto unwritable = starts ? proxy::unwritable_paths(*result.value) : std::vector<std::string>{};
    for (const auto& line : unwritable) std::fprintf(stderr, "%s: %s\n", result.value->file.c_str(), line.c_str());
    if (args.command == "check-config") {
        if (!unwritable.empty()) return exit_usage;
        for (const auto& note : result.value->notes) std::printf("%s: note: %s\n", result.value->file.c_str(), note.c_str());
        std::printf("%s: ok (%zu vendors, %zu accounts, %zu clients, %zu budgets)\n", result.value->file.c_str(),
                    result.value->vendors.size(), result.value->accounts.size(), result.value->clients.size(),
                    result.value->budgets.size());
        return exit_ok;
    }

    if (args.command == "ca") return run_ca_command(args.subcommand, *result.value);
    if (args.command == "report" && args.budgets) {
        std::string format = "table";
        for (const auto& [name, value] : args.report)
            if (name == "format") format = value;
        if (format != "table" && format != "csv" && format != "json") return usage_error("--format: expected table, csv or json");
        return proxy::run_budget_report(*result.value, format == "json"  ? policies::report_format::json
                                                       : format == "csv" ? policies::report_format::csv
                                                                         : policies::report_format::table);
    }
    if (args.command == "report") return run_report(args.report, *result.value);
    if (args.command == "prune") return run_prune(args.before, *result.value);
    if (args.command == "backup") return run_backup(args.to, *result.value);
    if (args.command == "estimate") return proxy::run_estimate(*result.value, args.client, args.urls, args.json);

    if (!unwritable.empty() && args.command == "serve") return exit_runtime;  // SPEC §13: said on stderr above
    std::string error;
    if (!proxy::setup_logging(result.value->log, error)) {
        std::fprintf(stderr, "creditgate: %s\n", error.c_str());
        return exit_runtime;
    }
    for (const auto& note : result.value->notes) spdlog::info("config: {}", note);
    try {
        proxy::app server(std::move(*result.value));
        return server.run();
    } catch (const std::exception& e) {
        spdlog::critical("fatal: {}", e.what());
        return exit_runtime;
    }
}
