#include "proxy/config/runtime.hpp"

#include "certs/intercept_tls.hpp"
#include "certs/upstream_tls.hpp"
#include "policies/store/postgres_store.hpp"
#include "policies/store/sqlite_store.hpp"

#include <unistd.h>

#include <cstdio>

#include <spdlog/spdlog.h>

#include <filesystem>

namespace creditgate::proxy {

std::shared_ptr<policies::metering> make_metering(const config& cfg, std::shared_ptr<policies::ledger_store> store) {
    std::vector<policies::account_binding> accounts;
    for (const auto& a : cfg.accounts) accounts.push_back({a.id, a.vendor, a.api_key, a.inject});
    return std::make_shared<policies::metering>(cfg.budgets, cfg.vendors, std::move(accounts),
                                                static_cast<std::size_t>(cfg.limits.max_queue), std::move(store));
}

std::string instance_name(const config& cfg, std::uint16_t bound_port) {
    if (cfg.storage.instance) return *cfg.storage.instance;
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    const std::uint16_t port = cfg.listen.port != 0 ? cfg.listen.port : bound_port;
    if (port != 0) return std::string(host) + ":" + std::to_string(port);
    return std::string(host) + ":pid" + std::to_string(::getpid());
}

namespace {

std::shared_ptr<policies::ledger_store> open_postgres_store(const config& cfg, std::string& error) {
    policies::postgres_options options;
    options.url = cfg.storage.url;
    options.instance = instance_name(cfg);
    options.flush_ms = cfg.storage.flush_ms;
    options.buffer_rows = static_cast<std::size_t>(cfg.storage.buffer_rows);
    options.target_s = cfg.storage.lease_target_s;
    options.ttl_s = cfg.storage.lease_ttl_s;
    options.on_error = [](const std::string& message) { spdlog::error("{}", message); };
    options.on_notice = [](const std::string& message) { spdlog::warn("{}", message); };
    auto store = policies::postgres_store::open(options, error);
    if (store) spdlog::info("storage: PostgreSQL, instance {} in the fleet", options.instance);
    return store;
}

}  // namespace

std::string ledger_path(const config& cfg) { return (std::filesystem::path(cfg.state_dir) / "creditgate.db").string(); }

std::shared_ptr<policies::ledger_store> open_ledger_store(const config& cfg, std::string& error) {
    if (cfg.storage.kind == storage_kind::memory) return std::make_shared<policies::memory_store>();
    if (cfg.storage.kind == storage_kind::postgres) return open_postgres_store(cfg, error);
    std::error_code ec;
    std::filesystem::create_directories(cfg.state_dir, ec);
    if (ec) {
        error = cfg.state_dir + ": cannot create the state folder: " + ec.message();
        return nullptr;
    }
    policies::sqlite_options options;
    options.path = ledger_path(cfg);
    options.flush_ms = cfg.storage.flush_ms;
    options.on_error = [](const std::string& message) { spdlog::error("{}", message); };
    options.on_notice = [](const std::string& message) { spdlog::warn("{}", message); };
    // A stop while the disk is full retries a few seconds (within its grace), then spills the rows.
    options.stop_retry = std::chrono::seconds(std::min<std::int64_t>(cfg.limits.shutdown_grace_s, 5));
    return policies::sqlite_store::open(options, error);
}

std::shared_ptr<const runtime> runtime::create(config cfg, std::shared_ptr<policies::ledger_store> store, std::string& error,
                                               const std::shared_ptr<const runtime>& previous) {
    certs::ssl_ctx_ptr ctx = certs::make_upstream_tls_context(cfg.tls.upstream_ca_file, error);
    if (!ctx) return nullptr;
    auto tls = std::make_shared<asio::ssl::context>(ctx.release());  // asio takes ownership
    std::shared_ptr<policies::metering> metering;
    if (previous && previous->cfg().metering_fingerprint == cfg.metering_fingerprint) {
        metering = previous->metering();
    } else {
        if (previous && !store->persistent())
            spdlog::warn("reload: budgets, accounts or vendors changed; with storage.kind \"memory\" budget counters start "
                         "again from zero (calls in flight settle against the counters they were admitted by)");
        metering = make_metering(cfg, store);
        // Used is what the ledger holds for each window, including what was just settled.
        store->flush();
        if (!metering->recompute_used(error)) return nullptr;
    }
    std::shared_ptr<runtime> rt(new runtime(std::move(cfg), std::move(tls), std::move(metering), std::move(store)));
    if (!rt->set_up_interception(previous, error)) return nullptr;
    return rt;
}

bool runtime::set_up_interception(const std::shared_ptr<const runtime>& previous, std::string& error) {
    if (!cfg_.tls.mitm) return true;
    if (previous && previous->leaves_ && previous->cfg().tls.ca_dir == cfg_.tls.ca_dir) {
        leaves_ = previous->leaves_;  // same CA: keep the leaves minted so far
        intercept_tls_ = previous->intercept_tls_;
        return true;
    }
    bool created = false;
    auto ca = certs::load_or_create_ca(cfg_.tls.ca_dir, error, &created);
    if (!ca) return false;
    if (created) spdlog::info("created the local CA {} (clients must trust it for HTTPS interception)", ca->cert_path);
    certs::ssl_ctx_ptr ctx = certs::make_intercept_context(error);
    if (!ctx) return false;
    leaves_ = std::make_shared<certs::leaf_cache>(std::move(ca), 1024);
    intercept_tls_ = std::make_shared<asio::ssl::context>(ctx.release());
    return true;
}

runtime::runtime(config cfg, std::shared_ptr<asio::ssl::context> tls, std::shared_ptr<policies::metering> metering,
                 std::shared_ptr<policies::ledger_store> store)
    : cfg_(std::move(cfg)),
      clients_(cfg_.clients),
      routes_(cfg_.vendors, cfg_.passthrough),
      upstream_tls_(std::move(tls)),
      metering_(std::move(metering)),
      store_(std::move(store)) {
    dialing_.pinned = [this](std::string_view host, std::uint16_t port) { return pinned(host, port); };
    dialing_.allow_private = cfg_.allow_private_destinations;
    dialing_.tls = upstream_tls_;
    dialing_.connect_timeout = std::chrono::seconds(cfg_.limits.upstream_connect_s);
}

const endpoint* runtime::pinned(std::string_view host, std::uint16_t port) const {
    if (cfg_.resolve.empty()) return nullptr;
    auto it = cfg_.resolve.find(endpoint{std::string(host), port}.to_string());
    return it == cfg_.resolve.end() ? nullptr : &it->second;
}

}  // namespace creditgate::proxy
