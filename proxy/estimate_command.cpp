#include "proxy/estimate_command.hpp"

#include "policies/estimate.hpp"
#include "policies/json_amount.hpp"
#include "policies/request_target.hpp"
#include "policies/store/sqlite_store.hpp"
#include "proxy/config/runtime.hpp"

#include <cstdio>
#include <filesystem>

namespace creditgate::proxy {
namespace {

// host + path only: the query of a vendor URL carries its API key.
std::string shown(const std::string& url) {
    const auto target = policies::parse_absolute_target(url);
    if (!target) return "(not a URL)";
    return target->where.host + std::string(target->path());
}

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

int run_estimate(const config& cfg, const std::string& client, const std::vector<std::string>& urls, bool as_json) {
    std::string team;
    if (!client.empty()) {
        const auto found = team_lookup(cfg)(client);
        if (!found) {
            std::fprintf(stderr, "creditgate: --client: no client \"%s\" in %s\n", client.c_str(), cfg.file.c_str());
            return 2;
        }
        team = *found;
    }
    std::string note;
    auto books = make_metering(cfg, ledger_for(cfg, note));
    std::string error;
    if (!books->recompute_used(error)) note = "(" + error + "; budgets as if nothing was spent)";
    const policies::vendor_routes routes(cfg.vendors, cfg.passthrough);
    std::vector<policies::planned_call> calls;
    for (const auto& url : urls) calls.push_back({"GET", url, {}, std::nullopt, 1});
    const auto job = policies::estimate_job(*books, routes, client, team, calls);
    if (as_json) {
        std::printf("%s\n", policies::dump_exact(policies::estimate_json(job), 2).c_str());
        return 0;
    }
    for (std::size_t i = 0; i < job.calls.size(); ++i) {
        const auto& c = job.calls[i];
        if (c.error) {
            std::printf("%-40s  %s: %s\n", shown(urls[i]).c_str(), std::string(policies::to_string(*c.error)).c_str(), c.message.c_str());
        } else {
            std::printf("%-40s  %s %s (%s)\n", shown(urls[i]).c_str(), c.estimate.to_string().c_str(), c.unit.c_str(), c.vendor.c_str());
        }
    }
    for (const auto& t : job.totals)
        std::printf("total %s: %s %s%s\n", t.vendor.c_str(), t.credits.to_string().c_str(), t.unit.c_str(),
                    t.cost_usd ? (" ($" + t.cost_usd->to_string() + ")").c_str() : "");
    for (const auto& b : job.budgets)
        std::printf("budget %s: needs %s of %s %s left: %s\n", b.id.c_str(), b.needed.to_string().c_str(), b.remaining.to_string().c_str(),
                    b.unit.c_str(), b.fits ? "fits" : ("short by " + b.short_by.to_string()).c_str());
    if (!note.empty()) std::printf("%s\n", note.c_str());
    return 0;  // an unknown host is an answer about that URL, not a failure of the command
}

}  // namespace creditgate::proxy
