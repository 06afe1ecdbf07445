#include "proxy/runtime.hpp"

#include "certs/upstream_tls.hpp"

namespace creditgate::proxy {

std::shared_ptr<const runtime> runtime::create(config cfg, std::string& error) {
    certs::ssl_ctx_ptr ctx = certs::make_upstream_tls_context(cfg.tls.upstream_ca_file, error);
    if (!ctx) return nullptr;
    auto tls = std::make_shared<asio::ssl::context>(ctx.release());  // asio takes ownership
    return std::shared_ptr<const runtime>(new runtime(std::move(cfg), std::move(tls)));
}

runtime::runtime(config cfg, std::shared_ptr<asio::ssl::context> tls)
    : cfg_(std::move(cfg)),
      clients_(cfg_.clients),
      routes_(cfg_.vendors, cfg_.passthrough),
      upstream_tls_(std::move(tls)) {}

const endpoint* runtime::pinned(std::string_view host, std::uint16_t port) const {
    if (cfg_.resolve.empty()) return nullptr;
    auto it = cfg_.resolve.find(endpoint{std::string(host), port}.to_string());
    return it == cfg_.resolve.end() ? nullptr : &it->second;
}

}  // namespace creditgate::proxy
