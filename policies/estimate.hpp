#pragma once
// estimate: a planned job priced against the live budgets without contacting any vendor (SPEC
// §12, POST /api/v1/estimate and `creditgate estimate`). Each call is priced by the cost model
// and the drift floor exactly as admission would reserve it (metering::reservation_for), and
// claims against budgets come from metering::preview — the same plan admission makes.

#include "policies/metering.hpp"
#include "policies/vendor_routes.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

struct planned_call {
    std::string method = "GET";
    std::string url;                                           // absolute: http:// or https://
    std::vector<std::pair<std::string, std::string>> headers = {};  // where a profile reads its key
    std::optional<std::string> body = std::nullopt;                 // JSON text
    std::uint64_t count = 1;
};

struct priced_call {
    std::string vendor, unit;
    money estimate, total;  // one call, and count of them
    std::optional<money> usd_per_unit;
    std::optional<refusal_code> error;
    std::string message;
};

struct job_total {
    std::string vendor, unit;
    money credits;
    std::optional<money> cost_usd;  // when the vendor has usd_per_unit
};

struct job_budget {
    std::string id, unit;
    money remaining, needed, short_by;
    bool fits = true;
    std::optional<unix_seconds> fits_at;  // a fresh period could hold it: its start
};

struct job_estimate {
    std::vector<priced_call> calls;
    std::vector<job_total> totals;
    std::vector<job_budget> budgets;
};

// `client`/`team`: whose budgets count (empty client: only budgets scoped to everyone or an account).
job_estimate estimate_job(const metering& books, const vendor_routes& routes, const std::string& client, const std::string& team,
                          const std::vector<planned_call>& calls);

// The request body of POST /api/v1/estimate; nullopt with `error` naming the bad field.
std::optional<std::vector<planned_call>> parse_planned_calls(const nlohmann::json& calls, std::string& error);

nlohmann::json estimate_json(const job_estimate& e);  // the answer of SPEC §12 (dump with dump_exact)

}  // namespace creditgate::policies
