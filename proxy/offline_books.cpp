#include "proxy/offline_books.hpp"

#include "policies/store/sqlite_store.hpp"
#include "proxy/config/runtime.hpp"

#include <filesystem>

namespace creditgate::proxy {
namespace {

std::shared_ptr<policies::ledger_store> ledger_for(const config& cfg, std::string& note) {
    const std::string path = ledger_path(cfg);
    if (cfg.storage.kind == storage_kind::sqlite && std::filesystem::exists(path)) {
        policies::sqlite_options options;
        options.path = path;
        options.read_only = true;
        std::string error;
        if (auto store = policies::sqlite_store::open(options, error)) return store;
        note = "(the ledger cannot be read: " + error + "; budgets as if nothing was spent)";
    } else {
        note = cfg.storage.kind == storage_kind::sqlite ? "(no ledger yet: budgets as if nothing was spent)"
                                                         : "(budgets as if nothing was spent: the fleet's ledger is not read here)";
    }
    return std::make_shared<policies::memory_store>();
}

}  // namespace

std::shared_ptr<policies::metering> offline_books(const config& cfg, std::string& note) {
    auto books = make_metering(cfg, ledger_for(cfg, note));
    std::string error;
    if (!books->recompute_used(error)) note = "(" + error + "; budgets as if nothing was spent)";
    return books;
}

}  // namespace creditgate::proxy
