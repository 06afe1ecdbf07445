#pragma once
// money: an exact amount in integer micro-units (1 unit = 1,000,000 µ), for credits,
// cents and dollars alike. Parsed from decimal text, never through binary floating point.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::policies {

class money {
public:
    static constexpr std::int64_t micros_per_unit = 1'000'000;

    constexpr money() = default;
    static constexpr money from_micros(std::int64_t micros) { return money{micros}; }
    static constexpr money units(std::int64_t whole) { return money{whole * micros_per_unit}; }

    constexpr std::int64_t micros() const { return micros_; }
    constexpr bool is_zero() const { return micros_ == 0; }
    constexpr bool is_negative() const { return micros_ < 0; }

    // How to treat digits beyond the sixth fraction digit.
    enum class excess_digits { reject, round_half_even };

    // Parses a JSON-style decimal: optional '-', digits, optional fraction, optional
    // exponent ("1e3", "2.5E-2"). Returns nullopt for anything else, on overflow, or
    // (with `reject`) when the value needs more than 6 fraction digits.
    static std::optional<money> parse(std::string_view text,
                                      excess_digits excess = excess_digits::reject);

    // Plain decimal: no exponent, at most 6 fraction digits, trailing zeros trimmed.
    std::string to_string() const;

    constexpr auto operator<=>(const money&) const = default;
    constexpr money operator+(money o) const { return money{micros_ + o.micros_}; }
    constexpr money operator-(money o) const { return money{micros_ - o.micros_}; }
    constexpr money operator-() const { return money{-micros_}; }
    constexpr money& operator+=(money o) { micros_ += o.micros_; return *this; }
    constexpr money& operator-=(money o) { micros_ -= o.micros_; return *this; }

    enum class rounding { up, half_even };
    // this × factor, both exact, rounded to the µ by `mode` (up = toward +infinity).
    // Returns nullopt on overflow.
    std::optional<money> times(money factor, rounding mode) const;

private:
    constexpr explicit money(std::int64_t micros) : micros_(micros) {}
    std::int64_t micros_ = 0;
};

}  // namespace creditgate::policies
