#include "policies/json_amount.hpp"
#include "policies/money.hpp"

#include <catch2/catch.hpp>

#include <vector>

using creditgate::policies::money;
using creditgate::policies::money_sum;

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

TEST_CASE("amounts from outside lie within plus or minus 10^12 units", "[money][range]") {
    struct row { const char* text; bool accepted; };
    const row rows[] = {
        {"1000000000000", true},        {"-1000000000000", true},         {"999999999999.999999", true},
        {"1000000000000.000001", false}, {"-1000000000000.000001", false}, {"9223372036854.775807", false},
        {"9223372036854", false},        {"1e12", true},                   {"1.0000001e12", false},
        {"3.07e14", false},              {"0", true},                      {"0.000001", true},
    };
    for (const auto& r : rows) {
        INFO(r.text);
        CHECK(money::parse_amount(r.text).has_value() == r.accepted);
        // parse() alone takes anything that fits 64 bits of µ; the range is parse_amount's.
        if (!r.accepted && money::parse(r.text)) CHECK_FALSE(money::parse(r.text)->in_range());
    }
    CHECK(money::max_amount().micros() == 1'000'000'000'000'000'000);
    CHECK(money::max_amount().in_range());
    CHECK_FALSE((money::max_amount() + money::from_micros(1)).in_range());
}

TEST_CASE("money arithmetic saturates instead of wrapping", "[money][range]") {
    const auto top = money::from_micros(INT64_MAX);
    const auto bottom = money::from_micros(INT64_MIN);
    CHECK((top + money::from_micros(1)).micros() == INT64_MAX);
    CHECK((bottom - money::from_micros(1)).micros() == INT64_MIN);
    CHECK((-bottom).micros() == INT64_MAX);
    auto acc = top;
    acc += top;
    CHECK(acc == top);
    CHECK(money::units(INT64_MAX).micros() == INT64_MAX);
    CHECK(money::units(-INT64_MAX).micros() == INT64_MIN);
    // checked_* say so instead.
    CHECK_FALSE(top.checked_add(money::from_micros(1)).has_value());
    CHECK_FALSE(bottom.checked_sub(money::from_micros(1)).has_value());
    CHECK(top.checked_sub(top)->is_zero());
    CHECK(money::max_amount().checked_add(money::max_amount())->micros() == 2'000'000'000'000'000'000);
}

TEST_CASE("money_sum is exact whatever is added and taken away", "[money][range]") {
    // The books' property: a reservation released leaves frozen exactly as it was, even when
    // the amounts in between pass the 64-bit ends (a shadow budget admits without a limit).
    money_sum frozen;
    const money huge = money::max_amount();
    for (int i = 0; i < 40; ++i) frozen += huge;  // 4 * 10^19 µ: beyond int64
    CHECK(frozen.to_money().micros() == INT64_MAX);  // shown saturated
    CHECK(frozen > money_sum(money::from_micros(INT64_MAX)));
    for (int i = 0; i < 40; ++i) frozen -= huge;
    CHECK(frozen.is_zero());
    // Comparisons stay exact at the edges.
    CHECK(money_sum(money::from_micros(INT64_MAX)) + money::from_micros(1) > money_sum(money::from_micros(INT64_MAX)));
    CHECK((money_sum() - money::from_micros(INT64_MAX) - money::from_micros(INT64_MAX)).to_money().micros() == INT64_MIN);
}

TEST_CASE("money property: parse, print and add round trip across the range", "[money][range]") {
    // A deterministic walk over the edges and a spread of values in between.
    std::vector<std::int64_t> values = {0, 1, -1, 999'999, 1'000'000, -1'000'001, money::max_amount().micros(),
                                        -money::max_amount().micros(), money::max_amount().micros() - 1};
    std::uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 2000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        values.push_back(static_cast<std::int64_t>(x % (2 * static_cast<std::uint64_t>(money::max_amount().micros()) + 1)) -
                         money::max_amount().micros());
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        const money a = money::from_micros(values[i]);
        const money b = money::from_micros(values[(i * 7 + 3) % values.size()]);
        INFO(a.to_string() << " " << b.to_string());
        REQUIRE(a.in_range());
        const auto back = money::parse_amount(a.to_string());
        REQUIRE(back.has_value());
        CHECK(*back == a);
        // Two in-range amounts always add and subtract exactly.
        const auto sum = a.checked_add(b);
        REQUIRE(sum.has_value());
        CHECK(*sum == a + b);
        CHECK((money_sum(a) + b).to_money() == *sum);
        CHECK(sum->checked_sub(b) == a);
        // Products are either exact-and-rounded or refused, never wrapped.
        if (auto p = a.times(b, money::rounding::half_even)) {
            const __int128 exact = static_cast<__int128>(a.micros()) * b.micros();
            const __int128 got = static_cast<__int128>(p->micros()) * money::micros_per_unit;
            CHECK(got - exact <= money::micros_per_unit / 2);
            CHECK(exact - got <= money::micros_per_unit / 2);
        }
    }
}

TEST_CASE("amounts leave JSON as exact decimals, and no string can pass for one", "[money][json]") {
    using creditgate::policies::amount_json;
    using creditgate::policies::dump_exact;
    nlohmann::json doc = {{"used", amount_json(*money::parse("9223372036854.775807"))},
                          {"small", amount_json(*money::parse("0.000001"))},
                          {"neg", amount_json(*money::parse("-1000000000000.000001"))},
                          {"list", {amount_json(money::units(3))}},
                          {"name", "\x1f" "0000000000000000" "\x1f" "12"}};  // a forged mark without the nonce
    const std::string text = dump_exact(doc);
    CHECK(text == R"({"list":[3],"name":"\u001f0000000000000000\u001f12","neg":-1000000000000.000001,)"
                  R"("small":0.000001,"used":9223372036854.775807})");
    // What a double would have printed, for the record: 9223372036854.775.
    CHECK(nlohmann::json::parse("9223372036854.775807").dump() != "9223372036854.775807");
}
