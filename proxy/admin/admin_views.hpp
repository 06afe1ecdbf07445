#pragma once
// admin_views: the ledger's state as the JSON documents of SPEC §8. Amounts are exact
// decimals (JSON numbers written from their decimal text), never floats.

#include "policies/json_amount.hpp"
#include "policies/metering.hpp"
#include "policies/vendor_routes.hpp"
#include "policies/store/ledger_store.hpp"
#include "proxy/admin/admin_routes.hpp"

#include <nlohmann/json.hpp>

namespace creditgate::proxy {

using policies::amount_json;  // exact decimals: dump the views with policies::dump_exact

// What a caller may see (SPEC §8): everything, or one team — its budgets (scoped to the team or
// one of its clients, never `{}` or an account) and its clients' calls.
struct view_scope {
    std::optional<std::string> team;   // nullopt: every team
    std::vector<std::string> clients;  // the team's clients
    bool sees(const policies::budget_def& b) const;
};

nlohmann::json budgets_json(const policies::metering& books, const view_scope& scope = {});
nlohmann::json accounts_json(const policies::metering& books);
nlohmann::json reservations_json(const policies::metering& books, const view_scope& scope = {});

// GET /api/v1/usage?`query`: JSON or CSV (format=csv), or a 400 naming the bad parameter. A
// team-scoped caller gets its team's rows only (403 when it asks for another team).
// `unit_of` names a vendor's unit (rows carry it; rows across vendors are "mixed").
using unit_lookup = std::function<std::string(const std::string& vendor)>;
admin_response usage_response(policies::ledger_store& store, std::string_view query, const unit_lookup& unit_of,
                              const view_scope& scope = {});

// GET /api/v1/instances: the fleet's instances from a shared store; otherwise this one alone
// (`self`: its name and start).
admin_response instances_response(policies::ledger_store& store, const policies::instance_view& self);

// creditgate_lease_requests_total{result}, when the store leases (PostgreSQL); "" otherwise.
std::string lease_metrics(const policies::ledger_store& store);

// POST /api/v1/estimate (SPEC §12): {"client"?, "calls": [...]} priced against the live budgets.
// `team_of` names a client's team (nullopt: no such client).
admin_response estimate_response(const policies::metering& books, const policies::vendor_routes& routes,
                                 const std::function<std::optional<std::string>(const std::string& client)>& team_of,
                                 std::string_view body);

// Today's date in UTC.

policies::civil_date utc_today();

}  // namespace creditgate::proxy
