// Why the ledger refuses a call, in the words and figures of SPEC §5 (describe), and whether a
// call that does not fit now may fit within its queue timeout (waiting_helps).
#include "policies/ledger.hpp"
#include "policies/ledger_state.hpp"

#include <algorithm>

namespace creditgate::policies {
namespace {

constexpr std::int64_t micro = token_micro;

}  // namespace

refusal_detail ledger::describe(const budget_state& b, const claim& c, refusal_code kind) const {
    refusal_detail r;
    r.kind = kind;
    r.budget = b.def->id;
    r.unit = b.unit;
    r.limit = b.limit();
    switch (b.def->kind) {
        case budget_kind::credits:
        case budget_kind::money: {
            const money_sum used = b.shown_used(), frozen = b.shown_frozen();
            r.used = used.to_money();
            r.frozen = frozen.to_money();
            r.remaining = (money_sum(b.def->limit) - used - frozen).to_money();
            r.cost = c.amount;
            r.message = "budget " + b.def->id + " has " + r.remaining.to_string() + " of " + r.limit.to_string() + " " +
                        b.unit + " left; this call needs " + c.amount.to_string();
            if (b.window.end != INT64_MAX) {
                r.reset_at = b.window.end;
                r.message += "; resets ";
                r.message += format_utc(b.window.end);
            }
            break;
        }
        case budget_kind::concurrency: {
            const std::int64_t in_flight = b.shown_in_flight();
            r.frozen = money::units(in_flight);
            r.remaining = money::units(b.def->max_concurrent - in_flight);
            r.cost = money::units(1);
            r.message = "budget " + b.def->id + " allows " + std::to_string(b.def->max_concurrent) + " calls at once";
            r.retry_after_s = 1;
            break;
        }
        case budget_kind::rate: {
            r.cost = money::units(1);
            if (b.share) {
                // The fleet's bucket: a whole token comes back within one refill step.
                const lease_amount tokens = b.share->central.tokens + std::max<lease_amount>(0, b.share->held());
                r.remaining = money::units(static_cast<std::int64_t>(std::min<lease_amount>(tokens / micro, INT64_MAX)));
                r.retry_after_s = ceil_seconds(b.def->rate.per_seconds * nanos_per_second / std::max<std::int64_t>(1, b.def->rate.tokens));
            } else {
                r.remaining = money::units(b.tokens / micro);
                // Time until one whole token: (1 - fraction) / rate.
                const std::int64_t missing = micro - b.tokens;
                const steady_nanos wait = static_cast<steady_nanos>(static_cast<__int128>(missing) * b.def->rate.per_seconds *
                                                                    nanos_per_second / (b.def->rate.tokens * micro));
                r.retry_after_s = ceil_seconds(wait);
            }
            r.message = "budget " + b.def->id + " allows " + std::to_string(b.def->rate.tokens) + " calls per " +
                        std::to_string(b.def->rate.per_seconds) + " s";
            break;
        }
    }
    return r;
}

// Whether a budget that cannot cover `c` now might within its queue timeout: a release (only if
// what is committed leaves room) or a new window for credits and money, any release for
// concurrency, the next token for rates. Also says in `detail` when to retry. In a fleet the
// release may come from another instance.
bool ledger::waiting_helps(const budget_state& b, const claim& c, refusal_detail& detail, unix_seconds now) {
    const money_sum limit(b.def->limit);
    const money_sum used = b.shown_used(), frozen = b.shown_frozen();
    if (b.metered()) {
        if (used + c.amount <= limit && frozen > money_sum()) detail.retry_after_s = 1;
        else if (b.window.end != INT64_MAX && c.amount <= b.def->limit) detail.retry_after_s = std::max<std::int64_t>(1, b.window.end - now);
    }
    if (b.def->on_exceed != exceed_action::queue || b.def->mode != budget_mode::enforce) return false;
    const std::int64_t timeout_s = (b.def->queue_timeout_ms + 999) / 1000;
    switch (b.def->kind) {
        case budget_kind::credits:
        case budget_kind::money:
            return c.amount <= b.def->limit && ((used + c.amount <= limit && (frozen > money_sum() || b.queued > 0 || b.share)) ||
                                                (b.window.end != INT64_MAX && b.window.end - now <= timeout_s));
        case budget_kind::concurrency: return true;
        case budget_kind::rate: return detail.retry_after_s.value_or(1) <= timeout_s;
    }
    return false;
}

// The account's known balance must cover the call too (SPEC §5 step 2).
std::optional<refusal_detail> ledger::account_short(const admission_request& request) const {
    if (!request.account) return std::nullopt;
    const account_state& a = accounts_[*request.account];
    const auto remaining = a.remaining();
    if (!a.exhausted && (!remaining || *remaining >= money_sum(request.estimate))) return std::nullopt;
    refusal_detail r;
    r.kind = refusal_code::upstream_credits_exhausted;
    r.remaining = remaining.value_or(money_sum()).to_money();
    r.frozen = a.frozen.to_money();
    r.cost = request.estimate;
    r.message = a.exhausted ? "account " + a.def.ref.name() + " is out of credit at " + a.def.vendor
                            : "account " + a.def.ref.name() + " has " + r.remaining.to_string() + " left at " + a.def.vendor +
                                  "; this call needs " + request.estimate.to_string();
    return r;
}

}  // namespace creditgate::policies
