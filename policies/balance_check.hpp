#pragma once
// balance_check: a vendor's balance endpoint as its profile describes it (SPEC §4 `balance`,
// §6) — the request to send for one account, and the remaining balance read from the answer,
// exactly (decimal text, never a double). Pure functions; the HTTP exchange is the proxy's.

#include "policies/money.hpp"
#include "policies/vendor_profile.hpp"

#include <map>
#include <optional>
#include <string>

namespace creditgate::policies {

struct balance_request {
    std::string method;
    std::string host;    // normalised; the profile's balance.host or its first host
    std::string target;  // origin-form, with the account's key when the profile takes it in the query
    std::optional<std::string> body;                       // JSON text
    std::optional<std::pair<std::string, std::string>> header;  // the key, when it travels in a header
    std::string described;  // "GET api.example.com/account": for logs, never holds the key
};

// nullopt with `error` when the profile has no balance endpoint, a {placeholder} of its path
// has no value in `params`, or the profile has no way to send a key.
std::optional<balance_request> make_balance_request(const vendor_profile& profile, const std::string& api_key,
                                                    const std::map<std::string, std::string>& params, std::string& error);

struct balance_answer {
    std::optional<money> remaining;  // in the profile's unit
    std::string error;               // why there is none
};

// Reads `remaining` (a pointer, or several summed) or limit − used − frozen from a 2xx answer.
balance_answer read_balance(const balance_spec& spec, unsigned status, std::string_view body);

}  // namespace creditgate::policies
