#pragma once
// money: an exact amount in integer micro-units (1 unit = 1,000,000 µ), for credits,
// cents and dollars alike. Parsed from decimal text, never through binary floating point.
//
// Arithmetic never overflows (SPEC §1). Every amount that comes from outside — config,
// profile, client, vendor — is range-checked to ±10^12 units (in_range, parse_amount), so a
// single amount uses under 2^60 µ. The operators saturate at the ends of int64 instead of
// wrapping (reaching them takes sums of ~9 extreme amounts: a saturated total still reads as
// "over every limit"); checked_* say when a result does not fit; money_sum keeps running
// totals (a budget's used and frozen) exact in 128 bits whatever is added and taken away.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::policies {

class money {
public:
    static constexpr std::int64_t micros_per_unit = 1'000'000;
    // The largest magnitude of an amount from outside, in units (SPEC §1).
    static constexpr std::int64_t max_units = 1'000'000'000'000;

    constexpr money() = default;
    static constexpr money from_micros(std::int64_t micros) { return money{micros}; }
    // For whole numbers the program itself writes (1 credit, 10 × an estimate); saturates.
    static constexpr money units(std::int64_t whole) { return money{saturate(static_cast<__int128>(whole) * micros_per_unit)}; }
    static constexpr money max_amount() { return money{max_units * micros_per_unit}; }

    constexpr std::int64_t micros() const { return micros_; }
    constexpr bool is_zero() const { return micros_ == 0; }
    constexpr bool is_negative() const { return micros_ < 0; }
    // Within ±10^12 units: what SPEC §1 accepts from outside.
    constexpr bool in_range() const { return micros_ >= -max_amount().micros_ && micros_ <= max_amount().micros_; }

    // How to treat digits beyond the sixth fraction digit.
    enum class excess_digits { reject, round_half_even };

    // Parses a JSON-style decimal: optional '-', digits, optional fraction, optional
    // exponent ("1e3", "2.5E-2"). Returns nullopt for anything else, when the value does not
    // fit 64 bits of µ, or (with `reject`) when it needs more than 6 fraction digits.
    static std::optional<money> parse(std::string_view text,
                                      excess_digits excess = excess_digits::reject);
    // Whether `text` is written as a decimal at all (parse's grammar), whatever its size: tells
    // a number out of range (refused) from text that is not a number.
    static bool is_decimal_text(std::string_view text);
    // parse(), and nullopt also outside ±10^12 units: for every amount from outside.
    static std::optional<money> parse_amount(std::string_view text,
                                             excess_digits excess = excess_digits::reject);

    // Plain decimal: no exponent, at most 6 fraction digits, trailing zeros trimmed.
    std::string to_string() const;

    constexpr auto operator<=>(const money&) const = default;
    constexpr money operator+(money o) const { return money{saturate(static_cast<__int128>(micros_) + o.micros_)}; }
    constexpr money operator-(money o) const { return money{saturate(static_cast<__int128>(micros_) - o.micros_)}; }
    constexpr money operator-() const { return money{saturate(-static_cast<__int128>(micros_))}; }
    constexpr money& operator+=(money o) { return *this = *this + o; }
    constexpr money& operator-=(money o) { return *this = *this - o; }

    // nullopt when the exact result does not fit.
    constexpr std::optional<money> checked_add(money o) const { return fit(static_cast<__int128>(micros_) + o.micros_); }
    constexpr std::optional<money> checked_sub(money o) const { return fit(static_cast<__int128>(micros_) - o.micros_); }

    enum class rounding { up, half_even };
    // this × factor, both exact, rounded to the µ by `mode` (up = toward +infinity).
    // Returns nullopt on overflow.
    std::optional<money> times(money factor, rounding mode) const;

private:
    friend class money_sum;
    static constexpr std::int64_t saturate(__int128 v) {
        return v > INT64_MAX ? INT64_MAX : v < INT64_MIN ? INT64_MIN : static_cast<std::int64_t>(v);
    }
    static constexpr std::optional<money> fit(__int128 v) {
        if (v > INT64_MAX || v < INT64_MIN) return std::nullopt;
        return money{static_cast<std::int64_t>(v)};
    }
    constexpr explicit money(std::int64_t micros) : micros_(micros) {}
    std::int64_t micros_ = 0;
};

// An exact running total of amounts: 128 bits hold the sum of 2^64 amounts of the largest size,
// so adding and taking away in any order comes back to where it started (a reservation that
// is released leaves frozen exactly as it was). Shown as money, saturated.
class money_sum {
public:
    constexpr money_sum() = default;
    constexpr money_sum(money m) : micros_(m.micros()) {}  // NOLINT: a sum of one amount
    static constexpr money_sum of_micros(__int128 micros) {
        money_sum s;
        s.micros_ = micros;
        return s;
    }

    constexpr money_sum& operator+=(money m) { micros_ += m.micros(); return *this; }
    constexpr money_sum& operator-=(money m) { micros_ -= m.micros(); return *this; }
    constexpr money_sum& operator+=(money_sum o) { micros_ += o.micros_; return *this; }
    constexpr money_sum& operator-=(money_sum o) { micros_ -= o.micros_; return *this; }
    friend constexpr money_sum operator+(money_sum a, money_sum b) { return a += b; }
    friend constexpr money_sum operator-(money_sum a, money_sum b) { return a -= b; }
    friend constexpr money_sum operator+(money_sum a, money b) { return a += b; }
    friend constexpr money_sum operator-(money_sum a, money b) { return a -= b; }
    friend constexpr auto operator<=>(money_sum a, money_sum b) { return a.micros_ <=> b.micros_; }
    friend constexpr bool operator==(money_sum a, money_sum b) { return a.micros_ == b.micros_; }

    constexpr bool is_zero() const { return micros_ == 0; }
    constexpr bool is_negative() const { return micros_ < 0; }
    constexpr __int128 micros() const { return micros_; }
    // The total as an amount, pinned to the int64 ends when it is beyond them.
    constexpr money to_money() const { return money::from_micros(money::saturate(micros_)); }

private:
    __int128 micros_ = 0;
};

}  // namespace creditgate::policies
