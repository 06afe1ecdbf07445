#include "policies/lease.hpp"

#include <algorithm>
#include <cmath>

namespace creditgate::policies {
namespace {

// FNV-1a, 64 bits: a stable name for what a budget counts (not a secret, not a security boundary).
std::uint64_t fnv1a(std::string_view text) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (unsigned char c : text) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    return h;
}

// name=LENGTH:VALUE; (or name-; when unset): no two different scopes read the same.
void field(std::string& out, std::string_view name, const std::optional<std::string>& value) {
    out.append(name);
    if (value) {
        out.push_back('=');
        out.append(std::to_string(value->size()));
        out.push_back(':');
        out.append(*value);
    } else {
        out.push_back('-');
    }
    out.push_back(';');
}

}  // namespace

std::string to_decimal(lease_amount value) {
    if (value == 0) return "0";
    const bool negative = value < 0;
    // Digit by digit from the magnitude; the most negative value still has one.
    std::string digits;
    while (value != 0) {
        const int d = static_cast<int>(value % 10);
        digits += static_cast<char>('0' + (d < 0 ? -d : d));
        value /= 10;
    }
    if (negative) digits += '-';
    std::reverse(digits.begin(), digits.end());
    return digits;
}

std::optional<lease_amount> parse_lease_amount(std::string_view text) {
    bool negative = false;
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        negative = text.front() == '-';
        text.remove_prefix(1);
    }
    if (text.empty() || text.size() > 38) return std::nullopt;  // 10^38 < 2^127
    lease_amount value = 0;
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        value = value * 10 + (c - '0');
    }
    return negative ? -value : value;
}

std::string fleet_budget_key(const budget_def& b) {
    std::string what;
    what += std::string(to_string(b.kind)) + ';';
    what += "vendor=" + b.vendor + ';';
    what += "unit=" + b.unit + ';';
    field(what, "team", b.scope.team);
    field(what, "client", b.scope.client);
    field(what, "account", b.scope.account);
    field(what, "path", b.scope.path_prefix);
    what += "every=" + std::string(to_string(b.period.every)) + ';';
    what += "anchor=" + (b.period.anchor ? to_string(*b.period.anchor) : std::string("-"));
    char hex[17];
    static constexpr char digits[] = "0123456789abcdef";
    std::uint64_t h = fnv1a(what);
    for (int i = 15; i >= 0; --i, h >>= 4) hex[i] = digits[h & 0xf];
    hex[16] = '\0';
    return b.id + "#" + hex;
}

lease_plan plan_lease(const lease_inputs& in) {
    lease_plan plan;
    const int instances = std::max(1, in.instances);
    // Half of an even split of what is left: a holder never sits on more than its share, and the
    // share halves as the budget empties, down to nothing (then each call asks for itself).
    const lease_amount left = std::max<lease_amount>(0, in.limit - in.used);
    const lease_amount fair = left / (2 * instances);
    lease_amount keep = in.idle ? 0 : std::clamp<lease_amount>(in.demand, 0, fair);
    // A lease too small for one call is a stranded fragment: near the limit, where the fair share
    // gets that small, every call asks for itself instead.
    if (keep < in.unit) keep = 0;
    const lease_amount spare = in.held - in.in_use;
    if (in.need > 0) {
        // Calls wait, so what this holder has spare is too small for any of them: a stranded
        // fragment. It goes back in the same report that asks, where it adds up with the
        // others' fragments (three holders each sitting on a third of the last credit would
        // otherwise wait for each other), and the ask grows by as much.
        const lease_amount fragment = std::max<lease_amount>(0, spare);
        plan.give_back = fragment;
        const lease_amount need = in.need + fragment;
        const lease_amount least = in.need_least > 0 ? std::min(in.need_least + fragment, need) : need;
        // The least that lets one call in: a refusal then refuses only calls at least that big.
        plan.ask_min = least;
        plan.ask_want = need + keep;
        return plan;
    }
    if (keep > 0 && spare < keep / 2) {
        // Running low with nobody waiting yet: top up to `keep` ahead of demand.
        plan.ask_min = plan.ask_want = keep - std::max<lease_amount>(spare, 0);
        return plan;
    }
    // More than half again what is worth keeping: the rest goes back for others (a margin, so
    // that a lease does not go back and forth at every exchange).
    if (spare > 0 && (keep == 0 || spare > keep + keep / 2)) plan.give_back = spare - keep;
    return plan;
}

void demand_meter::update(std::int64_t elapsed_ns, std::int64_t target_s) {
    if (elapsed_ns <= 0) return;
    const double seconds = static_cast<double>(elapsed_ns) / 1e9;
    latest_ = static_cast<double>(pending_) / seconds;
    pending_ = 0;
    const double tau = static_cast<double>(std::max<std::int64_t>(1, target_s));
    const double alpha = 1.0 - std::exp(-seconds / tau);
    smoothed_ += (latest_ - smoothed_) * alpha;
}

lease_amount demand_meter::demand(std::int64_t target_s) const {
    // Rising demand is met at once (the latest interval); falling demand decays over target_s.
    const double rate = std::max(smoothed_, latest_);
    const double amount = rate * static_cast<double>(std::max<std::int64_t>(1, target_s));
    if (!(amount > 0)) return 0;
    if (amount >= 1e36) return static_cast<lease_amount>(1e36);
    return static_cast<lease_amount>(std::ceil(amount));
}

}  // namespace creditgate::policies
