#include "policies/money.hpp"


namespace creditgate::policies {
namespace {

constexpr int fraction_digits = 6;
constexpr std::int64_t max_micros = INT64_MAX;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Rounds a non-negative quotient q with remainder r of division by d (r < d) half to even.
__int128 round_half_even(__int128 q, __int128 r, __int128 d) {
    const __int128 twice = 2 * r;
    if (twice > d || (twice == d && (q & 1) != 0)) ++q;
    return q;
}

}  // namespace

std::optional<money> money::parse(std::string_view text, excess_digits excess) {
    // Grammar (JSON's, plus an optional '+'): [-+] digits [. digits] [(e|E) [-+] digits]
    std::size_t i = 0;
    const bool negative = i < text.size() && text[i] == '-';
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;

    std::string digits;  // every digit of the mantissa, the point removed
    auto take_digits = [&] {
        const std::size_t first = i;
        while (i < text.size() && is_digit(text[i])) digits.push_back(text[i++]);
        return i - first;
    };
    if (take_digits() == 0) return std::nullopt;
    long point = static_cast<long>(digits.size());  // digits before the point
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (take_digits() == 0) return std::nullopt;
    }
    if (digits.size() > 60) return std::nullopt;  // absurdly long: refuse, never truncate

    long exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        const bool exp_negative = i < text.size() && text[i] == '-';
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
        const std::size_t first = i;
        while (i < text.size() && is_digit(text[i])) {
            exponent = exponent * 10 + (text[i++] - '0');
            if (exponent > 100) return std::nullopt;
        }
        if (i == first) return std::nullopt;
        if (exp_negative) exponent = -exponent;
    }
    if (i != text.size()) return std::nullopt;

    // value = digits × 10^(point + exponent − |digits|); we want it in µ, × 10^6.
    const long shift = point + exponent - static_cast<long>(digits.size()) + fraction_digits;
    __int128 value = 0;
    for (char c : digits) {
        value = value * 10 + (c - '0');
        if (value > (static_cast<__int128>(1) << 100)) return std::nullopt;
    }
    if (shift >= 0) {
        for (long s = 0; s < shift && value != 0; ++s) {
            value *= 10;
            if (value > max_micros) return std::nullopt;
        }
    } else {
        __int128 divisor = 1;
        for (long s = 0; s < -shift; ++s) {
            divisor *= 10;
            if (divisor > (static_cast<__int128>(1) << 110)) break;  // value / divisor is 0 anyway
        }
        const __int128 remainder = value % divisor;
        value /= divisor;
        if (remainder != 0) {
            if (excess == excess_digits::reject) return std::nullopt;
            value = round_half_even(value, remainder, divisor);
        }
    }
    if (value > max_micros) return std::nullopt;
    const auto micros = static_cast<std::int64_t>(value);
    return money{negative ? -micros : micros};
}

bool money::is_decimal_text(std::string_view text) {
    std::size_t i = 0;
    auto digits = [&] {
        const std::size_t first = i;
        while (i < text.size() && is_digit(text[i])) ++i;
        return i > first;
    };
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
    if (!digits()) return false;
    if (i < text.size() && text[i] == '.') {
        ++i;
        if (!digits()) return false;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) ++i;
        if (!digits()) return false;
    }
    return i == text.size();
}

std::optional<money> money::parse_amount(std::string_view text, excess_digits excess) {
    auto value = parse(text, excess);
    if (!value || !value->in_range()) return std::nullopt;
    return value;
}

std::string money::to_string() const {
    // |INT64_MIN| does not fit an int64: work in unsigned.
    const bool negative = micros_ < 0;
    const std::uint64_t magnitude = negative ? std::uint64_t(0) - static_cast<std::uint64_t>(micros_)
                                             : static_cast<std::uint64_t>(micros_);
    std::string out = negative ? "-" : "";
    out += std::to_string(magnitude / micros_per_unit);
    std::uint64_t fraction = magnitude % micros_per_unit;
    if (fraction != 0) {
        char buf[fraction_digits + 1];
        for (int d = fraction_digits - 1; d >= 0; --d) {
            buf[d] = static_cast<char>('0' + fraction % 10);
            fraction /= 10;
        }
        int len = fraction_digits;
        while (len > 0 && buf[len - 1] == '0') --len;
        out += '.';
        out.append(buf, static_cast<std::size_t>(len));
    }
    return out;
}

std::optional<money> money::times(money factor, rounding mode) const {
    const __int128 product = static_cast<__int128>(micros_) * factor.micros_;
    const bool negative = product < 0;
    const __int128 magnitude = negative ? -product : product;
    __int128 q = magnitude / micros_per_unit;
    const __int128 r = magnitude % micros_per_unit;
    if (r != 0) {
        if (mode == rounding::half_even) {
            q = round_half_even(q, r, micros_per_unit);
        } else if (!negative) {
            ++q;  // toward +infinity; a negative product truncates toward zero, which is up
        }
    }
    const __int128 result = negative ? -q : q;
    if (result > max_micros || result < -max_micros) return std::nullopt;
    return money{static_cast<std::int64_t>(result)};
}

}  // namespace creditgate::policies
