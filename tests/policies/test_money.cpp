#include "policies/money.hpp"

#include <catch2/catch.hpp>

using creditgate::policies::money;

TEST_CASE("money parses decimal text exactly", "[money]") {
    struct row { const char* text; std::int64_t micros; };
    const row rows[] = {
        {"0", 0},           {"1", 1'000'000},       {"-1", -1'000'000},        {"0.000001", 1},
        {"25.00", 25'000'000}, {"0.00049", 490},     {"9406.37", 9'406'370'000}, {"1e3", 1'000'000'000},
        {"2.5E-2", 25'000}, {"1.5e+1", 15'000'000}, {"+7", 7'000'000},          {"100000", 100'000'000'000},
        {"0.1", 100'000},   {"0.3", 300'000},       // the classic binary-float traps stay exact
    };
    for (const auto& r : rows) {
        INFO(r.text);
        auto m = money::parse(r.text);
        REQUIRE(m.has_value());
        CHECK(m->micros() == r.micros);
    }
}

TEST_CASE("money refuses what is not an exact amount", "[money]") {
    for (const char* text : {"", "-", "abc", "1.", ".5", "1.2.3", "1e", "1e+", "0x10", "1 ", " 1", "1,5",
                             "0.0000001", "1e-7", "99999999999999999999", "1e40"}) {
        INFO(text);
        CHECK_FALSE(money::parse(text).has_value());
    }
}

TEST_CASE("money rounds excess digits half to even only when asked", "[money]") {
    using ex = money::excess_digits;
    CHECK(money::parse("0.0000005", ex::round_half_even)->micros() == 0);
    CHECK(money::parse("0.0000015", ex::round_half_even)->micros() == 2);
    CHECK(money::parse("0.00000151", ex::round_half_even)->micros() == 2);
    CHECK(money::parse("9406.3712345", ex::round_half_even)->micros() == 9'406'371'234);
}

TEST_CASE("money prints plain decimals", "[money]") {
    struct row { std::int64_t micros; const char* text; };
    const row rows[] = {{0, "0"}, {1, "0.000001"}, {1'000'000, "1"}, {-1'500'000, "-1.5"},
                        {490, "0.00049"}, {100'000'000'000, "100000"}, {INT64_MIN, "-9223372036854.775808"}};
    for (const auto& r : rows) CHECK(money::from_micros(r.micros).to_string() == r.text);
}

TEST_CASE("money multiplication rounds up for reservations and half-even for settlements", "[money]") {
    const auto price = *money::parse("0.00049");  // usd per credit
    CHECK(money::units(5).times(price, money::rounding::up)->micros() == 2450);
    const auto third = *money::parse("0.333333");
    // 0.000001 × 0.333333 = 0.000000333333 µ-fractions: up → 1 µ, half-even → 0
    CHECK(money::from_micros(1).times(third, money::rounding::up)->micros() == 1);
    CHECK(money::from_micros(1).times(third, money::rounding::half_even)->micros() == 0);
    // exactly half: 0.5 µ → 0 (even), 1.5 µ → 2
    CHECK(money::from_micros(1).times(*money::parse("0.5"), money::rounding::half_even)->micros() == 0);
    CHECK(money::from_micros(3).times(*money::parse("0.5"), money::rounding::half_even)->micros() == 2);
    CHECK_FALSE(money::units(4'000'000).times(money::units(4'000'000), money::rounding::up).has_value());
}
