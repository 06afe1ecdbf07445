#include "proxy/exchange/exchange_record.hpp"

namespace creditgate::proxy {

std::string_view outcome_name(const exchange_record& r) {
    switch (r.end) {
        case exchange_record::ending::forwarded: return {};
        case exchange_record::ending::refused: return policies::to_string(r.refusal);
        // The same spelling as the decisions of these names.
        case exchange_record::ending::client_aborted: return policies::to_string(policies::decision::client_aborted);
        case exchange_record::ending::upstream_error: return policies::to_string(policies::decision::upstream_error);
        case exchange_record::ending::upstream_timeout: return policies::to_string(policies::decision::upstream_timeout);
        case exchange_record::ending::tunnel: return "tunnel";
        case exchange_record::ending::intercepted: return "intercepted";
    }
    return {};
}

exchange_counts counts_of(const exchange_record& r, std::chrono::steady_clock::duration elapsed) {
    exchange_counts c;
    c.client = r.client ? std::string_view(r.client->id) : std::string_view();
    c.team = r.client ? std::string_view(r.client->team) : std::string_view();
    c.vendor = r.vendor;
    // The decision when the books made one; else how it ended; else "forwarded".
    c.label = r.decision ? policies::to_string(*r.decision) : !outcome_name(r).empty() ? outcome_name(r) : "forwarded";
    if (!r.vendor.empty()) {
        c.cost = r.cost;
        c.cost_usd = r.cost_usd;
    }
    c.elapsed = elapsed;
    return c;
}

}  // namespace creditgate::proxy
