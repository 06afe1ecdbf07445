// What a client controls of a call's price: the query and the JSON body, for each shipped
// profile. An estimate is either a refusal with a reason or an amount in range, never negative.
#include "fuzz_support.hpp"
#include "policies/cost_model.hpp"

using namespace creditgate::policies;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
    if (size < 1) return 0;
    const auto& profiles = shipped_profiles();
    const vendor_profile& profile = profiles[data[0] % profiles.size()];
    const std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    const auto f = fields_of(rest, 4);  // method, path, query, body
    const auto query = parse_query(f[2]);
    json body;
    const bool has_body = !f[3].empty();
    const bool parsed = has_body && parse_priced_body(f[3], body);
    const request_facts facts{f[0], f[1], &query, parsed ? &body : nullptr, has_body && !parsed};
    const cost_estimate e = estimate_cost(profile, facts);
    if (e.ok()) {
        FUZZ_REQUIRE(!e.amount.is_negative() && e.amount.in_range());
        FUZZ_REQUIRE(!e.from_rules.is_negative() && e.from_rules.in_range());
    } else {
        FUZZ_REQUIRE(!e.message.empty());
        FUZZ_REQUIRE(e.error != refusal_code::unpriceable_request || (has_body && !parsed));
    }
    return 0;
}
