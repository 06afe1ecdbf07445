#pragma once
// admin_views: the ledger's state as the JSON documents of SPEC §8. Amounts are exact
// decimals (JSON numbers written from their decimal text), never floats.

#include "policies/ledger.hpp"

#include <nlohmann/json.hpp>

namespace creditgate::proxy {

nlohmann::json amount_json(policies::money m);
nlohmann::json budgets_json(const policies::ledger& books);
nlohmann::json accounts_json(const policies::ledger& books);
nlohmann::json reservations_json(const policies::ledger& books);

}  // namespace creditgate::proxy
