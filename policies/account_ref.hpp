#pragma once
// account_ref: which account a call bills — one the config names, or a key no account names, at
// one vendor ("unregistered", SPEC §5). Ledger rows, logs and the admin API say "unregistered";
// the books keep one such account per vendor, under a key nothing outside them sees.

#include <string>
#include <string_view>
#include <utility>

namespace creditgate::policies {

class account_ref {
public:
    static constexpr std::string_view unregistered_name = "unregistered";

    account_ref() = default;  // names nothing yet
    static account_ref named(std::string id) { return account_ref(std::move(id), {}); }
    static account_ref unregistered(std::string vendor) { return account_ref(std::string(unregistered_name), std::move(vendor)); }

    bool registered() const { return vendor_of_unregistered_.empty(); }
    // The account id, or "unregistered": what rows, logs, metrics and admin views show.
    const std::string& name() const { return name_; }
    // Where the books keep it: the account id, or one key per vendor for unregistered keys.
    std::string books_key() const { return registered() ? name_ : name_ + "@" + vendor_of_unregistered_; }

    bool operator==(const account_ref&) const = default;

private:
    account_ref(std::string name, std::string vendor) : name_(std::move(name)), vendor_of_unregistered_(std::move(vendor)) {}
    std::string name_;
    std::string vendor_of_unregistered_;  // empty for a named account
};

}  // namespace creditgate::policies
