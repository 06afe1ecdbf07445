#pragma once
// admission: the facade the proxy calls. From one call's facts (who, which vendor and
// account, which path, the estimate) to the claims on every budget that applies, and on to
// the ledger's decision. Knows budgets and accounts by name; the proxy never does the matching.

#include "policies/cost_model.hpp"
#include "policies/ledger.hpp"
#include "policies/price_memory.hpp"
#include "policies/store/ledger_store.hpp"
#include "policies/vendor_profile.hpp"

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace creditgate::policies {

struct account_binding {
    std::string id;
    std::string vendor;
    std::optional<std::string> api_key;  // secret
    bool inject = false;
};

struct call_facts {
    std::string_view client;
    std::string_view team;
    const vendor_profile* vendor = nullptr;
    std::string_view account;  // an account id, or "unregistered"
    std::string_view path;
    money estimate;
    call_labels labels;
};

class metering {
public:
    metering(std::vector<budget_def> budgets, const std::vector<vendor_profile>& vendors,
             std::vector<account_binding> accounts, std::size_t max_queue, ledger_clock clock = ledger_clock::system());

    // The account a request's API key names; nullopt for a key no account names.
    const account_binding* account_for_key(const vendor_profile& vendor, std::string_view key) const;
    // The account that supplies a key when the request has none (inject: true), if any.
    const account_binding* injecting_account(const vendor_profile& vendor) const;

    // Sets every credits and money budget's used to what `store` holds for its current window
    // (finished calls at their actual, pending ones at what they reserved). False with `error`
    // when the store cannot be read.
    bool recompute_used(ledger_store& store, std::string& error);

    // What a call reserves: its estimate, and at least the largest actual seen in the last 24 h
    // for its vendor and cost rules (SPEC §5's bounded drift).
    money reservation_for(const vendor_profile& vendor, const cost_estimate& estimate) const;
    // A call settled: an actual above what it reserved raises later reservations of its kind.
    void note_settled(const vendor_profile& vendor, std::uint64_t rules_matched, money actual, money reserved);

    admission_request plan(const call_facts& facts) const;
    admission admit(const call_facts& facts, std::function<void(admission)> on_admitted);

    ledger& books() { return *ledger_; }
    const ledger& books() const { return *ledger_; }
    std::optional<std::size_t> account_index(std::string_view id) const { return ledger_->account_index(id); }

private:
    bool applies(const budget_def& b, const call_facts& facts) const;

    std::vector<std::string> vendor_units_;  // per budget
    std::vector<account_binding> accounts_;
    std::function<unix_seconds()> wall_;
    price_memory prices_;
    std::unique_ptr<ledger> ledger_;
};

}  // namespace creditgate::policies
