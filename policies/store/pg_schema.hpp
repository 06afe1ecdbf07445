#pragma once
// pg_schema: the shared ledger's tables and functions in PostgreSQL (SPEC §10), created and
// migrated at start under an advisory lock, so that instances starting at once on an empty
// database neither race nor fail. Every name starts with creditgate_: the database may be shared.

#include "policies/store/pg_connection.hpp"

#include <string>

namespace creditgate::policies {

inline constexpr int pg_schema_version = 3;

// Brings the schema to pg_schema_version; false with `error` (a newer schema than this binary
// knows is an error: an older binary must not write into it).
bool migrate_pg_schema(pg_connection& db, std::string& error);

}  // namespace creditgate::policies
