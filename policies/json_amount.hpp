#pragma once
// json_amount: exact amounts in JSON output (SPEC §1). nlohmann keeps a number as a double, which
// prints 15-17 significant digits; an amount has up to 19 (1000000000000.000001). An amount goes
// into a document as a marked string and leaves as the bare decimal when the document is dumped
// with dump_exact. The mark holds a per-process random nonce, so no string from a client, a vendor
// or the config can pass for an amount.

#include "policies/money.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace creditgate::policies {

nlohmann::json amount_json(money m);
// nlohmann's dump, with every amount_json value written as its plain decimal.
std::string dump_exact(const nlohmann::json& doc, int indent = -1);

}  // namespace creditgate::policies
