// What a vendor controls of a settlement: status, cost and balance headers, and the body; and
// what a balance poll answers. Settled amounts are in range and never negative; readings too.
#include "fuzz_support.hpp"
#include "policies/balance_check.hpp"
#include "policies/settlement.hpp"

using namespace creditgate::policies;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
    if (size < 3) return 0;
    const auto& profiles = shipped_profiles();
    const vendor_profile& profile = profiles[data[0] % profiles.size()];
    const unsigned status = 100 + (data[1] * 256u + data[2]) % 500;
    const std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
    const auto f = fields_of(rest, 3);  // one header value, used for every header the profile reads; the body; an estimate
    const std::string header(f[0]);
    const std::string body(f[1]);
    const money estimate = money::parse_amount(f[2]).value_or(money::units(1));
    const json parsed = json::parse(body, nullptr, false);
    response_facts facts;
    facts.status = status;
    facts.header = [&header](std::string_view) -> std::optional<std::string_view> { return std::string_view(header); };
    facts.body = body;
    facts.body_json = parsed.is_discarded() ? nullptr : &parsed;
    facts.body_complete = (data[1] & 1) != 0;
    for (bool sole : {false, true}) {
        const settlement s = settle_cost(profile, estimate.is_negative() ? -estimate : estimate, facts,
                                         {money::units(1000), sole});
        FUZZ_REQUIRE(!s.actual.is_negative() && s.actual.in_range());
        if (s.balance_reading) FUZZ_REQUIRE(s.balance_reading->in_range());
    }
    if (profile.balance) {
        const balance_answer a = read_balance(*profile.balance, status, body);
        if (a.remaining) FUZZ_REQUIRE(a.remaining->in_range());
        else FUZZ_REQUIRE(!a.error.empty());
    }
    return 0;
}
