#include "proxy/estimate_command.hpp"

#include "policies/estimate.hpp"
#include "policies/json_amount.hpp"
#include "policies/request_target.hpp"
#include "proxy/offline_books.hpp"

#include <cstdio>

namespace creditgate::proxy {
namespace {

// host + path only: the query of a vendor URL carries its API key.
std::string shown(const std::string& url) {
    const auto target = policies::parse_absolute_target(url);
    if (!target) return "(not a URL)";
    return target->where.host + std::string(target->path());
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
    auto books = offline_books(cfg, note);
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
