#include "policies/metering.hpp"

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
                   std::vector<account_binding> accounts, std::size_t max_queue, std::shared_ptr<ledger_store> store,
                   ledger_clock clock)
    : vendor_units_(units_of(budgets, vendors)), accounts_(std::move(accounts)), store_(std::move(store)), clock_(clock) {
    std::vector<account_def> defs;
    for (const auto& a : accounts_) defs.push_back({account_ref::named(a.id), a.vendor});
    for (const auto& v : vendors) defs.push_back({account_ref::unregistered(v.name), v.name});  // unknown keys, per vendor
    ledger_ = std::make_shared<ledger>(std::move(budgets), vendor_units_, std::move(defs), max_queue, std::move(clock),
                                       store_->fleet());
    if (ledger_->shared()) holder_ = store_->attach(ledger_);
}

metering::~metering() {
    if (ledger_->shared()) store_->detach(holder_, ledger_->final_lease_work(holder_));
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
    // "unregistered" is no account's id (the config refuses it), so an account scope never holds it.
    if (b.scope.account && (!f.account->registered() || *b.scope.account != f.account->name())) return false;
    if (b.scope.path_prefix && f.path.substr(0, b.scope.path_prefix->size()) != *b.scope.path_prefix) return false;
    return true;
}

bool metering::recompute_used(std::string& error) {
    if (ledger_->shared()) return true;  // the fleet's central rows hold what each budget used
    const auto views = ledger_->budgets();
    for (std::size_t i = 0; i < views.size(); ++i) {
        const budget_def& b = *views[i].def;
        if (b.kind != budget_kind::credits && b.kind != budget_kind::money) continue;
        const budget_usage_query q{b.vendor, b.scope, views[i].window, b.kind == budget_kind::money};
        const auto used = store_->used(q);
        if (!used) {
            error = "cannot read budget " + b.id + "'s usage from the ledger";
            return false;
        }
        ledger_->seed_used(i, views[i].window, *used);
    }
    return true;
}

money metering::reservation_for(const vendor_profile& vendor, const cost_estimate& estimate) const {
    return std::max(estimate.amount, prices_.floor(vendor.name, estimate.rules_matched, clock_.wall()));
}

admission_request metering::plan(const call_facts& f, std::optional<std::size_t> account) const {
    const money reserved = reservation_for(*f.vendor, cost_estimate{f.estimate, f.estimate, false, f.rules_matched, {}, {}});
    admission_request r;
    const auto& defs = ledger_->definitions();
    for (std::size_t i = 0; i < defs.size(); ++i) {
        const budget_def& b = defs[i];
        if (!applies(b, f)) continue;
        claim c{i, {}, {}};
        if (b.kind == budget_kind::credits) {
            c.amount = reserved;
        } else if (b.kind == budget_kind::money) {
            // Reservations round up to the next µ$; settlements convert half-to-even. Dollars
            // that do not fit 64 bits fit no budget either: reserved as the most there is.
            c.usd_per_unit = f.vendor->usd_per_unit.value_or(money{});
            c.amount = reserved.times(*c.usd_per_unit, money::rounding::up).value_or(money::from_micros(INT64_MAX));
        }
        r.claims.push_back(c);
    }
    r.account = account;
    r.estimate = reserved;
    r.labels = {std::string(f.request_id), std::string(f.client), std::string(f.team), f.vendor->name, f.account->name()};
    return r;
}

std::optional<std::size_t> metering::account_index(const account_ref& account) const {
    return ledger_->account_index(account);
}

call_row metering::row_of(const call_facts& f, money reserved) const {
    call_row row;
    row.id = store_->next_id();
    row.admitted_at = clock_.millis();
    row.request_id = f.request_id;
    row.client = f.client;
    row.team = f.team;
    row.vendor = f.vendor->name;
    row.account = f.account->name();
    row.method = f.method;
    row.host = f.host;
    row.path = f.path;
    row.estimate = reserved;
    return row;
}

admission_outcome metering::wrap(admission a, const call_facts& f, decision how, std::optional<std::size_t> account) {
    admission_outcome out;
    if (a.result == admission::outcome::refused) {
        out.result = admission_outcome::kind::refused;
        out.refusal = std::move(a.refusal);
        // A budget's refusal is in the ledger; a refusal for want of the ledger itself is not.
        if (out.refusal->kind != refusal_code::storage_unavailable) write_refusal_row(f, *out.refusal, decision::rejected);
        return out;
    }
    if (a.shadow_would_reject) how = decision::shadow_would_reject;
    auto s = std::make_unique<metered_call::state>();
    s->books = this;
    s->vendor = f.vendor;
    s->held = std::move(a.held);
    if (store_->persistent()) s->row = std::make_unique<call_row>(row_of(f, a.reserved));
    s->decision = how;
    s->estimate = f.estimate;
    s->reserved = a.reserved;
    s->rules_matched = f.rules_matched;
    s->account = account;
    s->balance = {a.balance_before, a.balance_delta_eligible};
    s->warnings = std::move(a.warnings);
    s->started = f.started != 0 ? f.started : clock_.steady();
    out.result = admission_outcome::kind::admitted;
    out.call = metered_call(std::move(s));
    return out;
}

admission_outcome metering::admit(const call_facts& facts, std::function<void(admission)> on_ready) {
    const auto account = account_index(*facts.account);
    admission a = ledger_->admit(plan(facts, account), std::move(on_ready));
    if (a.result != admission::outcome::queued) return wrap(std::move(a), facts, decision::allowed, account);
    admission_outcome out;
    out.result = admission_outcome::kind::queued;
    out.ticket = a.ticket;
    out.queue_timeout_ms = a.queue_timeout_ms;
    out.refusal = std::move(a.refusal);
    return out;
}

admission_outcome metering::resume(admission ready, const call_facts& facts) {
    // A call that waited only for a lease was not held back by any budget.
    const decision how = ready.queued ? decision::queued_allowed : decision::allowed;
    return wrap(std::move(ready), facts, how, account_index(*facts.account));
}

std::optional<refusal_detail> metering::give_up(std::uint64_t ticket, const call_facts& facts) {
    auto refusal = ledger_->cancel_wait(ticket);
    if (refusal && refusal->kind == refusal_code::queue_timeout) write_refusal_row(facts, *refusal, decision::queue_timeout);
    return refusal;
}

void metering::leave_queue(std::uint64_t ticket) { ledger_->cancel_wait(ticket); }

void metering::poke() { ledger_->poke(); }

void metering::write_refusal_row(const call_facts& f, const refusal_detail& why, decision how) {
    if (!store_->persistent()) return;
    const money asked = reservation_for(*f.vendor, cost_estimate{f.estimate, f.estimate, false, f.rules_matched, {}, {}});
    call_row row = row_of(f, asked);
    row.finished_at = row.admitted_at;
    row.status = http_status(why.kind);
    row.decision = how;
    row.cost_usd = settled_usd(money{}, f.vendor->usd_per_unit);
    const steady_nanos started = f.started != 0 ? f.started : clock_.steady();
    row.latency_ms = (clock_.steady() - started) / 1'000'000;
    store_->append(std::move(row));
}

void metering::note_answer(const metered_call& call, const settlement& s) {
    const auto& c = *call.state_;
    if (c.account) {
        if (s.balance_reading) ledger_->record_balance(*c.account, *s.balance_reading, balance_source::header);
        if (s.out_of_credit) ledger_->mark_exhausted(*c.account);
    }
    prices_.record(c.vendor->name, c.rules_matched, s.actual, c.estimate, clock_.wall());
}

void metering::record_balance(std::size_t account, money reading, balance_source source) {
    ledger_->record_balance(account, reading, source);
}

void metering::record_poll_error(std::size_t account, std::optional<std::string> error) {
    ledger_->record_poll_error(account, std::move(error));
}

bool metering::reset_account(std::string_view id) { return ledger_->reset_account(id); }

}  // namespace creditgate::policies
