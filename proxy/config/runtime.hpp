#pragma once
// runtime: everything request handling reads, derived once from one validated config and
// never changed afterwards; a reload builds a new one. Requests hold a shared_ptr to the
// snapshot they started with.

#include "certs/leaf_cache.hpp"
#include "policies/metering.hpp"
#include "policies/store/ledger_store.hpp"
#include "policies/vendor_routes.hpp"
#include "proxy/config/config.hpp"
#include "proxy/config/proxy_auth.hpp"
#include "proxy/net/upstream_connector.hpp"

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <string>

namespace creditgate::proxy {

class runtime {
public:
    // Null (with `error`) when a part cannot be built, e.g. an unreadable upstream CA file.
    // A reload passes the running runtime: its metering (the live budget counters) carries
    // over when budgets, accounts and vendors are unchanged.
    // A new metering starts from what `store` holds for each budget's current window.
    static std::shared_ptr<const runtime> create(config cfg, std::shared_ptr<policies::ledger_store> store, std::string& error,
                                                 const std::shared_ptr<const runtime>& previous = nullptr);

    const config& cfg() const { return cfg_; }
    const limits_config& limits() const { return cfg_.limits; }
    const client_directory& clients() const { return clients_; }
    const policies::vendor_routes& routes() const { return routes_; }
    // How upstreams are dialled under this config (resolve pins, private ranges, upstream TLS).
    const dial_policy& dialing() const { return dialing_; }
    const std::shared_ptr<asio::ssl::context>& upstream_tls() const { return upstream_tls_; }
    // Interception of vendor CONNECTs (null when tls.mitm is off): the local CA's leaves and
    // the server-side TLS context they are served with.
    const std::shared_ptr<certs::leaf_cache>& leaves() const { return leaves_; }
    const std::shared_ptr<asio::ssl::context>& intercept_tls() const { return intercept_tls_; }
    // The books: shared by every worker (the ledger locks itself) and by the runtimes of later reloads.
    const std::shared_ptr<policies::metering>& metering() const { return metering_; }
    // The persistent ledger, shared by every runtime of the process.
    policies::ledger_store& store() const { return *store_; }
    const std::shared_ptr<policies::ledger_store>& shared_store() const { return store_; }

    // Where `resolve` pins host:port, or null.
    const endpoint* pinned(std::string_view host, std::uint16_t port) const;

private:
    runtime(config cfg, std::shared_ptr<asio::ssl::context> tls, std::shared_ptr<policies::metering> metering,
            std::shared_ptr<policies::ledger_store> store);
    bool set_up_interception(const std::shared_ptr<const runtime>& previous, std::string& error);

    config cfg_;
    client_directory clients_;
    policies::vendor_routes routes_;
    std::shared_ptr<asio::ssl::context> upstream_tls_;
    std::shared_ptr<policies::metering> metering_;
    std::shared_ptr<policies::ledger_store> store_;
    std::shared_ptr<certs::leaf_cache> leaves_;
    std::shared_ptr<asio::ssl::context> intercept_tls_;
    dial_policy dialing_;
};

// The ledger file of a config: <state_dir>/creditgate.db.
std::string ledger_path(const config& cfg);

// The instance's name in the fleet: storage.instance, else "<hostname>:<proxy port>". The store
// opens before the bind: with port 0 (tests) and no bound port yet, "<hostname>:pid<pid>".
// The books for a config over a store (a runtime's, or a command's that prices without serving).
std::shared_ptr<policies::metering> make_metering(const config& cfg, std::shared_ptr<policies::ledger_store> store);

std::string instance_name(const config& cfg, std::uint16_t bound_port = 0);

// The store storage.kind asks for (the state_dir is created if missing); null with `error`.
std::shared_ptr<policies::ledger_store> open_ledger_store(const config& cfg, std::string& error);

}  // namespace creditgate::proxy
