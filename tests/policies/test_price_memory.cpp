#include "policies/price_memory.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

TEST_CASE("drift raises later reservations of the same rules for 24 hours", "[price_memory]") {
    price_memory prices;
    const unix_seconds t0 = 1'800'000'000;  // on the hour
    CHECK(prices.floor("neuji", 1, t0) == money{});
    prices.record("neuji", 1, money::units(2), money::units(2), t0);  // as estimated: nothing to remember
    CHECK(prices.floor("neuji", 1, t0) == money{});
    prices.record("neuji", 1, money::units(6), money::units(2), t0);
    CHECK(prices.floor("neuji", 1, t0 + 60) == money::units(6));
    CHECK(prices.floor("neuji", 2, t0) == money{});            // other rules
    CHECK(prices.floor("scraperapi", 1, t0) == money{});       // another vendor
    prices.record("neuji", 1, money::units(4), money::units(2), t0 + 3600);
    CHECK(prices.floor("neuji", 1, t0 + 3600) == money::units(6));  // the largest of the day
    // The hour of the 6 ages out after 24 h; the 4 an hour later stays an hour longer.
    CHECK(prices.floor("neuji", 1, t0 + 24 * 3600 - 1) == money::units(6));
    CHECK(prices.floor("neuji", 1, t0 + 24 * 3600) == money::units(4));
    CHECK(prices.floor("neuji", 1, t0 + 26 * 3600) == money{});
    // A slot reused a day later starts over.
    prices.record("neuji", 1, money::units(3), money::units(2), t0 + 48 * 3600);
    CHECK(prices.floor("neuji", 1, t0 + 48 * 3600) == money::units(3));
}
