// The metered call (issue 17): every path from admission settles the reservation exactly once and
// leaves exactly one pending and one finished row — committed, aborted by an upstream failure or a
// timeout, the client gone while queued or after the answer's head, shutdown, moved from. A fake
// store and a fake clock; no sockets. Run under ThreadSanitizer too (policies_ledger_tsan).
#include "policies/metering.hpp"
#include "budget_fixture.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

using namespace creditgate::policies;

namespace {

money m(const char* t) { return *money::parse(t); }

// Keeps every row appended, as the SQLite store would write them.
class recording_store final : public ledger_store {
public:
    explicit recording_store(bool keeps = true) : keeps_(keeps) {}
    void append(call_row row) override {
        std::lock_guard lock(mutex_);
        rows_.push_back(std::move(row));
    }
    bool healthy() const override { return true; }
    bool flush() override { return true; }
    bool persistent() const override { return keeps_; }
    std::optional<money> used(const budget_usage_query&) override { return money{}; }
    std::optional<std::vector<usage_row>> usage(const usage_query&) override { return std::vector<usage_row>{}; }
    std::optional<bool> remember_alert(const std::string&, unix_seconds) override { return true; }

    std::vector<call_row> rows() const {
        std::lock_guard lock(mutex_);
        return rows_;
    }
    // Rows by call id: pending first, then finished.
    std::map<std::int64_t, std::vector<call_row>> by_call() const {
        std::map<std::int64_t, std::vector<call_row>> out;
        for (const auto& r : rows()) out[r.id].push_back(r);
        return out;
    }

private:
    bool keeps_;
    mutable std::mutex mutex_;
    std::vector<call_row> rows_;
};

struct fake_clock {
    std::atomic<unix_seconds> wall{days_from_civil({2026, 12, 3}) * 86400};
    std::atomic<steady_nanos> steady{5'000'000'000};
    ledger_clock get() {
        return {[this] { return wall.load(); }, [this] { return steady.load(); }, [this] { return wall.load() * 1000; }};
    }
};

struct fixture {
    fake_clock clock;
    std::shared_ptr<recording_store> store;
    vendor_profile vendor;
    account_ref account = account_ref::named("acct");
    std::unique_ptr<metering> books;

    explicit fixture(std::vector<budget_def> budgets, bool keeps = true)
        : store(std::make_shared<recording_store>(keeps)) {
        vendor.name = "v";
        vendor.usd_per_unit = m("0.5");
        books = std::make_unique<metering>(std::move(budgets), std::vector<vendor_profile>{vendor},
                                           std::vector<account_binding>{{"acct", "v", std::string("key"), false}}, 10, store,
                                           clock.get());
    }
    call_facts facts(const char* estimate = "2") const {
        call_facts f;
        f.request_id = "req-1";
        f.client = "eu-1";
        f.team = "growth";
        f.vendor = &vendor;
        f.account = &account;
        f.method = "GET";
        f.host = "api.v.com";
        f.path = "/search";
        f.estimate = m(estimate);
        f.rules_matched = 1;
        f.started = clock.steady.load();
        return f;
    }
    metered_call admit(const char* estimate = "2") {
        auto out = books->admit(facts(estimate), nullptr);
        REQUIRE(out.result == admission_outcome::kind::admitted);
        return std::move(out.call);
    }
    budget_view budget(std::size_t i = 0) const { return books->budgets()[i]; }
};

budget_def credits(const char* limit, exceed_action on = exceed_action::reject) { return credits_budget("b", limit, on); }

settlement answer(const char* actual) {
    settlement s;
    s.actual = m(actual);
    s.basis = settlement_basis::cost_header;
    return s;
}

// Exactly one pending row then one finished row for the call, and nothing frozen.
call_row the_finished_row(const fixture& f) {
    const auto calls = f.store->by_call();
    REQUIRE(calls.size() == 1);
    const auto& rows = calls.begin()->second;
    REQUIRE(rows.size() == 2);
    CHECK(rows[0].pending());
    CHECK(rows[0].decision == decision::pending);
    CHECK_FALSE(rows[1].pending());
    CHECK(f.budget().frozen == money{});
    return rows[1];
}

}  // namespace

TEST_CASE("a committed call settles at its actual and writes its rows once", "[metered_call]") {
    fixture f({credits("100")});
    auto call = f.admit("2");
    CHECK(call.decision() == decision::allowed);
    CHECK(f.budget().frozen == m("2"));
    REQUIRE(f.store->rows().size() == 1);  // the pending row, at what it reserved
    CHECK(f.store->rows()[0].estimate == m("2"));
    CHECK(*f.store->rows()[0].cost_usd == m("1"));
    f.clock.steady += 250'000'000;
    CHECK(call.commit(answer("3")));
    CHECK(call.settled());
    CHECK(f.budget().used == m("3"));
    CHECK_FALSE(call.commit(answer("5")));            // exactly once
    CHECK_FALSE(call.abort(decision::upstream_error));
    call.finish(200);
    call.finish(200);                                  // the row once too
    const call_row row = the_finished_row(f);
    CHECK(row.decision == decision::allowed);
    CHECK(row.status == 200);
    CHECK(row.actual == m("3"));
    CHECK(*row.cost_usd == m("1.5"));
    CHECK(row.latency_ms == 250);
    CHECK(f.budget().used == m("3"));
}

TEST_CASE("an upstream failure or timeout releases the reservation", "[metered_call]") {
    for (const auto why : {decision::upstream_error, decision::upstream_timeout}) {
        INFO(to_string(why));
        fixture f({credits("100")});
        auto call = f.admit();
        CHECK(call.abort(why));
        CHECK_FALSE(call.commit(answer("3")));
        call.finish(why == decision::upstream_error ? 502 : 504);
        const call_row row = the_finished_row(f);
        CHECK(row.decision == why);
        CHECK(row.actual == money{});
        CHECK(f.budget().used == money{});
    }
}

TEST_CASE("a client gone after the answer's head leaves the call committed", "[metered_call]") {
    fixture f({credits("100")});
    {
        auto call = f.admit();
        call.commit(answer("2"));
    }  // the relay failed and the exchange ended: the destructor writes the row
    const call_row row = the_finished_row(f);
    CHECK(row.decision == decision::allowed);
    CHECK(row.actual == m("2"));
    CHECK(f.budget().used == m("2"));
}

TEST_CASE("a call destroyed unsettled (shutdown, a client gone first) aborts as client_aborted", "[metered_call]") {
    fixture f({credits("100")});
    { auto call = f.admit("7"); }
    const call_row row = the_finished_row(f);
    CHECK(row.decision == decision::client_aborted);
    CHECK(row.status == 0);
    CHECK(f.budget().used == money{});
    CHECK(f.books->reservations().empty());
}

TEST_CASE("moving a call moves the one settlement with it", "[metered_call]") {
    fixture f({credits("100")});
    auto first = f.admit("2");
    metered_call moved(std::move(first));
    CHECK_FALSE(first);
    CHECK_FALSE(first.commit(answer("1")));  // a moved-from call holds nothing
    first.finish(200);
    metered_call assigned;
    assigned = std::move(moved);
    CHECK(assigned.commit(answer("2")));
    assigned.finish(200);
    const call_row row = the_finished_row(f);
    CHECK(row.actual == m("2"));
    // Assigning over a live call ends that one first.
    fixture g({credits("100")});
    auto a = g.admit("3");
    auto b = g.admit("4");
    a = std::move(b);
    CHECK(g.budget().frozen == m("4"));
    a.finish(0);
    CHECK(g.budget().frozen == money{});
    CHECK(g.store->by_call().size() == 2);
}

TEST_CASE("queued calls: admitted later, given up, or gone at shutdown", "[metered_call]") {
    fixture f({credits("10", exceed_action::queue)});
    auto holder = f.admit("8");
    std::optional<admission> ready;
    auto queued = f.books->admit(f.facts("5"), [&](admission a) { ready = std::move(a); });
    REQUIRE(queued.result == admission_outcome::kind::queued);
    CHECK(f.budget().queued == 1);
    // Its turn comes when the holder settles; resumed on the caller's thread.
    holder.commit(answer("4"));
    REQUIRE(ready);
    auto late = f.books->resume(std::move(*ready), f.facts("5"));
    REQUIRE(late.result == admission_outcome::kind::admitted);
    CHECK(late.call.decision() == decision::queued_allowed);
    // The client left while it waited: noticed once admitted, aborted.
    CHECK(late.call.abort(decision::client_aborted));
    late.call.finish(0);
    holder.finish(200);
    CHECK(f.budget().frozen == money{});
    // A queue timeout writes its refusal row; a call gone at shutdown writes none.
    auto blocker = f.admit("6");  // 4 used + 6: full until it settles
    auto waits = f.books->admit(f.facts("5"), [](admission) {});
    REQUIRE(waits.result == admission_outcome::kind::queued);
    const auto rows_before = f.store->rows().size();
    const auto timeout = f.books->give_up(waits.ticket, f.facts("5"));
    REQUIRE(timeout);
    CHECK(timeout->kind == refusal_code::queue_timeout);
    REQUIRE(f.store->rows().size() == rows_before + 1);
    CHECK(f.store->rows().back().decision == decision::queue_timeout);
    CHECK(f.store->rows().back().status == 429);
    auto gone = f.books->admit(f.facts("5"), [](admission) {});
    f.books->leave_queue(gone.ticket);
    CHECK(f.store->rows().size() == rows_before + 1);
    CHECK(f.budget().queued == 0);
    blocker.finish(0);
    CHECK(f.budget().frozen == money{});
}

TEST_CASE("a refusal by a budget is one finished row and no call", "[metered_call]") {
    fixture f({credits("1")});
    auto out = f.books->admit(f.facts("2"), nullptr);
    REQUIRE(out.result == admission_outcome::kind::refused);
    CHECK_FALSE(out.call);
    CHECK(out.refusal->kind == refusal_code::budget_exhausted);
    const auto rows = f.store->rows();
    REQUIRE(rows.size() == 1);
    CHECK(rows[0].decision == decision::rejected);
    CHECK(rows[0].status == 402);
    CHECK(rows[0].estimate == m("2"));
}

TEST_CASE("what an answer says besides its cost reaches the books", "[metered_call]") {
    fixture f({credits("100")});
    auto call = f.admit("2");
    settlement s = answer("6");
    s.balance_reading = m("500");
    CHECK(call.commit(s));
    call.finish(200);
    CHECK(*f.books->accounts()[0].remaining == m("500"));
    // Drift: the next call of these rules reserves what this one cost.
    auto next = f.admit("2");
    CHECK(next.reserved() == m("6"));
    CHECK(next.estimate() == m("2"));  // settlement's fallback stays the rules'
    settlement out_of_credit;
    out_of_credit.out_of_credit = true;
    next.commit(out_of_credit);
    CHECK(f.books->accounts()[0].exhausted);
}

TEST_CASE("a store that keeps nothing gets no rows, and the books still settle", "[metered_call]") {
    fixture f({credits("100")}, false);
    auto call = f.admit("2");
    call.commit(answer("2"));
    call.finish(200);
    CHECK(f.store->rows().empty());
    CHECK(f.budget().used == m("2"));
}

TEST_CASE("many threads admitting, settling and dropping calls settle each exactly once", "[metered_call][ledger]") {
    fixture f({credits("500")});
    std::atomic<int> committed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                auto out = f.books->admit(f.facts("1"), nullptr);
                if (out.result != admission_outcome::kind::admitted) continue;
                switch ((i + t) % 4) {
                    case 0: out.call.commit(answer("1")); ++committed; out.call.finish(200); break;
                    case 1: out.call.abort(decision::upstream_error); out.call.finish(502); break;
                    case 2: { metered_call moved(std::move(out.call)); } break;  // dropped: client_aborted
                    case 3: out.call.commit(answer("1")); ++committed; break;   // the destructor finishes it
                }
            }
        });
    }
    for (auto& t : threads) t.join();
    CHECK(f.budget().frozen == money{});
    CHECK(f.budget().used == money::units(committed.load()));
    for (const auto& [id, rows] : f.store->by_call()) {
        if (rows.size() == 1) {
            CHECK(rows[0].decision == decision::rejected);
        } else {
            REQUIRE(rows.size() == 2);
            CHECK(rows[0].pending());
            CHECK_FALSE(rows[1].pending());
        }
    }
}
