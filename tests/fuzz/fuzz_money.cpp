// Money text from outside (config, profiles, clients, vendors): parsing never crashes, what
// parses prints back to the same amount, and the range and grammar checks agree with each other.
#include "fuzz_support.hpp"
#include "policies/json_amount.hpp"
#include "policies/money.hpp"

using creditgate::policies::money;

extern "C" int LLVMFuzzerTestOneInput(const unsigned char* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (auto excess : {money::excess_digits::reject, money::excess_digits::round_half_even}) {
        const auto parsed = money::parse(text, excess);
        const auto ranged = money::parse_amount(text, excess);
        if (parsed) {
            FUZZ_REQUIRE(money::is_decimal_text(text));
            FUZZ_REQUIRE(money::parse(parsed->to_string()) == parsed);  // prints back exactly
            FUZZ_REQUIRE(ranged.has_value() == parsed->in_range());
            const std::string json = creditgate::policies::dump_exact(creditgate::policies::amount_json(*parsed));
            FUZZ_REQUIRE(json == parsed->to_string());
            // Checked sums agree with the exact 128-bit ones.
            const __int128 exact = static_cast<__int128>(parsed->micros()) * 2;
            const auto doubled = parsed->checked_add(*parsed);
            FUZZ_REQUIRE(doubled.has_value() == (exact >= INT64_MIN && exact <= INT64_MAX));
        } else {
            FUZZ_REQUIRE(!ranged.has_value());
        }
    }
    return 0;
}
