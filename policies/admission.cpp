#include "policies/admission.hpp"

#include <algorithm>

namespace creditgate::policies {
namespace {

std::vector<std::string> units_of(const std::vector<budget_def>& budgets, const std::vector<vendor_profile>& vendors) {
    std::vector<std::string> units;
    for (const auto& b : budgets) {
        std::string unit = b.unit;
        if (unit.empty() && b.kind == budget_kind::credits)
            for (const auto& v : vendors)
                if (v.name == b.vendor) unit = v.unit;
        units.push_back(unit);
    }
    return units;
}

}  // namespace

metering::metering(std::vector<budget_def> budgets, const std::vector<vendor_profile>& vendors,
                   std::vector<account_binding> accounts, std::size_t max_queue, ledger_clock clock)
    : vendor_units_(units_of(budgets, vendors)), accounts_(std::move(accounts)), wall_(clock.wall) {
    std::vector<account_def> defs;
    for (const auto& a : accounts_) defs.push_back({a.id, a.vendor});
    for (const auto& v : vendors) defs.push_back({"unregistered@" + v.name, v.name});  // unknown keys, per vendor
    ledger_ = std::make_unique<ledger>(std::move(budgets), vendor_units_, std::move(defs), max_queue, std::move(clock));
}

const account_binding* metering::account_for_key(const vendor_profile& vendor, std::string_view key) const {
    for (const auto& a : accounts_)
        if (a.vendor == vendor.name && a.api_key && *a.api_key == key) return &a;
    return nullptr;
}

const account_binding* metering::injecting_account(const vendor_profile& vendor) const {
    for (const auto& a : accounts_)
        if (a.vendor == vendor.name && a.inject) return &a;
    return nullptr;
}

bool metering::applies(const budget_def& b, const call_facts& f) const {
    if (b.vendor != "*" && b.vendor != f.vendor->name) return false;
    if (b.scope.team && *b.scope.team != f.team) return false;
    if (b.scope.client && *b.scope.client != f.client) return false;
    if (b.scope.account && *b.scope.account != f.account) return false;
    if (b.scope.path_prefix && f.path.substr(0, b.scope.path_prefix->size()) != *b.scope.path_prefix) return false;
    return true;
}

bool metering::recompute_used(ledger_store& store, std::string& error) {
    const auto views = ledger_->budgets();
    for (std::size_t i = 0; i < views.size(); ++i) {
        const budget_def& b = *views[i].def;
        if (b.kind != budget_kind::credits && b.kind != budget_kind::money) continue;
        const budget_usage_query q{b.vendor, b.scope, views[i].window, b.kind == budget_kind::money};
        const auto used = store.used(q);
        if (!used) {
            error = "cannot read budget " + b.id + "'s usage from the ledger";
            return false;
        }
        ledger_->seed_used(i, views[i].window, *used);
    }
    return true;
}

money metering::reservation_for(const vendor_profile& vendor, const cost_estimate& estimate) const {
    return std::max(estimate.amount, prices_.floor(vendor.name, estimate.rules_matched, wall_()));
}

void metering::note_settled(const vendor_profile& vendor, std::uint64_t rules_matched, money actual, money reserved) {
    prices_.record(vendor.name, rules_matched, actual, reserved, wall_());
}

admission_request metering::plan(const call_facts& f) const {
    admission_request r;
    const auto& defs = ledger_->definitions();
    for (std::size_t i = 0; i < defs.size(); ++i) {
        const budget_def& b = defs[i];
        if (!applies(b, f)) continue;
        claim c{i, {}, {}};
        if (b.kind == budget_kind::credits) {
            c.amount = f.estimate;
        } else if (b.kind == budget_kind::money) {
            // Reservations round up to the next µ$; settlements convert half-to-even.
            c.usd_per_unit = f.vendor->usd_per_unit.value_or(money{});
            // Dollars that do not fit 64 bits fit no budget either: reserved as the most there is.
            c.amount = f.estimate.times(*c.usd_per_unit, money::rounding::up).value_or(money::from_micros(INT64_MAX));
        }
        r.claims.push_back(c);
    }
    r.account = f.account == "unregistered" ? ledger_->account_index("unregistered@" + f.vendor->name)
                                            : ledger_->account_index(f.account);
    r.estimate = f.estimate;
    r.labels = f.labels;
    return r;
}

admission metering::admit(const call_facts& facts, std::function<void(admission)> on_admitted) {
    return ledger_->admit(plan(facts), std::move(on_admitted));
}

}  // namespace creditgate::policies
