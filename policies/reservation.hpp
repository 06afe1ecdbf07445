#pragma once
// reservation: the credits frozen for one call in flight. Move-only; committed at the
// call's actual cost or released, exactly once; one destroyed unsettled releases itself.

#include "policies/money.hpp"

#include <cstdint>

namespace creditgate::policies {

class ledger;

class reservation {
public:
    reservation() = default;
    reservation(reservation&& other) noexcept : ledger_(other.ledger_), call_(other.call_), id_(other.id_) {
        other.ledger_ = nullptr;
    }
    reservation& operator=(reservation&& other) noexcept;
    reservation(const reservation&) = delete;
    reservation& operator=(const reservation&) = delete;
    ~reservation() { release(); }

    explicit operator bool() const { return ledger_ != nullptr; }
    std::uint64_t id() const { return id_; }

    // `actual` is in the vendor's unit; money budgets convert it with their price.
    void commit(money actual);
    void release();

private:
    friend class ledger;
    reservation(ledger* owner, void* call, std::uint64_t id) : ledger_(owner), call_(call), id_(id) {}

    ledger* ledger_ = nullptr;
    void* call_ = nullptr;  // the ledger's record of this call
    std::uint64_t id_ = 0;
};

}  // namespace creditgate::policies
