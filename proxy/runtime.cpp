#include "proxy/runtime.hpp"

#include "certs/upstream_tls.hpp"

#include <spdlog/spdlog.h>

namespace creditgate::proxy {

namespace {

std::shared_ptr<policies::metering> make_metering(const config& cfg) {
    std::vector<policies::account_binding> accounts;
    for (const auto& a : cfg.accounts) accounts.push_back({a.id, a.vendor, a.api_key, a.inject});
    return std::make_shared<policies::metering>(cfg.budgets, cfg.vendors, std::move(accounts),
                                                static_cast<std::size_t>(cfg.limits.max_queue));
}

}  // namespace

std::shared_ptr<const runtime> runtime::create(config cfg, std::string& error, const std::shared_ptr<const runtime>& previous) {
    certs::ssl_ctx_ptr ctx = certs::make_upstream_tls_context(cfg.tls.upstream_ca_file, error);
    if (!ctx) return nullptr;
    auto tls = std::make_shared<asio::ssl::context>(ctx.release());  // asio takes ownership
    std::shared_ptr<policies::metering> metering;
    if (previous && previous->cfg().metering_fingerprint == cfg.metering_fingerprint) {
        metering = previous->metering();
    } else {
        if (previous)
            spdlog::warn("reload: budgets, accounts or vendors changed; budget counters start again from zero "
                         "(calls in flight settle against the counters they were admitted by)");
        metering = make_metering(cfg);
    }
    return std::shared_ptr<const runtime>(new runtime(std::move(cfg), std::move(tls), std::move(metering)));
}

runtime::runtime(config cfg, std::shared_ptr<asio::ssl::context> tls, std::shared_ptr<policies::metering> metering)
    : cfg_(std::move(cfg)),
      clients_(cfg_.clients),
      routes_(cfg_.vendors, cfg_.passthrough),
      upstream_tls_(std::move(tls)),
      metering_(std::move(metering)) {}

const endpoint* runtime::pinned(std::string_view host, std::uint16_t port) const {
    if (cfg_.resolve.empty()) return nullptr;
    auto it = cfg_.resolve.find(endpoint{std::string(host), port}.to_string());
    return it == cfg_.resolve.end() ? nullptr : &it->second;
}

}  // namespace creditgate::proxy
