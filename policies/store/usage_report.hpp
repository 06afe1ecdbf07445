#pragma once
// usage_report: the usage report of SPEC §8 — from request parameters to a usage_query, and
// from rows to JSON, CSV or a text table. Shared by GET /api/v1/usage and `creditgate report`,
// so that both answer the same question the same way.

#include "policies/store/ledger_store.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace creditgate::policies {

enum class report_format { json, csv, table };

struct usage_request {
    usage_query query;
    report_format format = report_format::json;
};

// Parameters as (name, value) pairs: from, to (YYYY-MM-DD, inclusive; default the first of
// `today`'s month through `today`), group_by (comma list; default client,vendor), client, team,
// vendor, format (json|csv|table). Unknown names and bad values are errors, named.
struct usage_request_result {
    std::optional<usage_request> value;
    std::string error;
};
usage_request_result parse_usage_request(const std::vector<std::pair<std::string, std::string>>& params, civil_date today);

// Each row's unit: its vendor's (`unit_of`), or "mixed" when it spans vendors (SPEC §8).
inline constexpr std::string_view mixed_unit = "mixed";
void assign_units(std::vector<usage_row>& rows, const std::function<std::string(const std::string& vendor)>& unit_of);

nlohmann::json usage_json(const usage_query& query, const std::vector<usage_row>& rows);
std::string usage_csv(const usage_query& query, const std::vector<usage_row>& rows);    // RFC 4180, CRLF
std::string usage_table(const usage_query& query, const std::vector<usage_row>& rows);  // aligned columns

}  // namespace creditgate::policies
