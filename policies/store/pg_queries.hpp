#pragma once
// pg_queries: the shared ledger's read side and its row writer, on a given connection (the
// exchange's, inside its transaction, or the report connection).
#include "policies/store/ledger_store.hpp"
#include "policies/store/pg_connection.hpp"

namespace creditgate::policies {

// What a budget's rows add up to in `window` (SPEC §7: finished at their actual, pending at
// their reservation), exactly.
std::optional<lease_amount> pg_used(pg_connection& db, const budget_usage_query& query);
std::optional<std::vector<usage_row>> pg_usage(pg_connection& db, const usage_query& query);
// The retention pass (SPEC §7): records `before` as the horizon, then deletes finished calls
// admitted before it in small transactions. The rows deleted; nullopt on failure.
std::optional<std::int64_t> pg_prune(pg_connection& db, civil_date before);
// Writes rows (a pending and a finished row of one call may both be there) and adds the newly
// finished ones to the per-day sums. A row that reached the database before counts once.
// The fleet's instances, oldest first, with what each holds per budget; `self` marks run `run`.
std::optional<std::vector<instance_view>> pg_instances(pg_connection& db, std::int64_t run);
bool pg_write_rows(pg_connection& db, std::int64_t run, const std::vector<call_row>& rows);

}  // namespace creditgate::policies
