// The ledger's queue: FIFO per budget, time-outs, and when waiting cannot help.
#include "ledger_fixture.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using namespace ledger_fixture;

TEST_CASE("queued calls are admitted FIFO and time out", "[ledger]") {
    fake_clock clock;
    budget_def conc = slots("conc", 1, exceed_action::queue);
    conc.queue_timeout_ms = 5000;
    ledger l({conc}, {""}, {}, 2, clock.get());
    auto running = l.admit(ask({{0, {}}}), nullptr);
    std::vector<int> order;
    // Callbacks run on the releasing thread, synchronously: keep each admitted handle apart.
    std::optional<reservation> first, second;
    auto q1 = l.admit(ask({{0, {}}}), [&](admission a) { order.push_back(1); first = std::move(a.held); });
    auto q2 = l.admit(ask({{0, {}}}), [&](admission a) { order.push_back(2); second = std::move(a.held); });
    CHECK(q1.result == admission::outcome::queued);
    CHECK(q2.result == admission::outcome::queued);
    CHECK(q1.queue_timeout_ms == 5000);
    auto full = l.admit(ask({{0, {}}}), nullptr);
    CHECK(full.refusal->kind == refusal_code::queue_full);
    CHECK(view(l, 0).queued == 2);
    running.held.commit({});
    CHECK(order == std::vector<int>{1});
    first->release();  // q1's slot: q2 is next
    CHECK(order == std::vector<int>{1, 2});
    CHECK_FALSE(l.cancel_wait(q2.ticket));  // already admitted
    auto q3 = l.admit(ask({{0, {}}}), [&](admission) { order.push_back(3); });
    auto timeout = l.cancel_wait(q3.ticket);
    REQUIRE(timeout);
    CHECK(timeout->kind == refusal_code::queue_timeout);
    CHECK(view(l, 0).queued == 0);
    second->release();
    CHECK(order == std::vector<int>{1, 2});
    CHECK(view(l, 0).frozen == money{});
}


TEST_CASE("a waiter stuck on one budget holds back only that budget's later waiters", "[ledger]") {
    fake_clock clock;
    ledger l({slots("a", 1, exceed_action::queue), slots("b", 1, exceed_action::queue)}, {"", ""}, {}, 10, clock.get());
    auto on_a = l.admit(ask({{0, {}}}), nullptr);
    auto on_b = l.admit(ask({{1, {}}}), nullptr);
    std::vector<std::string> order;
    std::vector<reservation> held;
    auto keep = [&](const char* name) {
        return [&, name](admission a) {
            order.push_back(name);
            held.push_back(std::move(a.held));
        };
    };
    CHECK(l.admit(ask({{0, {}}}), keep("a1")).result == admission::outcome::queued);
    CHECK(l.admit(ask({{0, {}}}), keep("a2")).result == admission::outcome::queued);
    CHECK(l.admit(ask({{1, {}}}), keep("b1")).result == admission::outcome::queued);
    CHECK(l.admit(ask({{0, {}}, {1, {}}}), keep("ab")).result == admission::outcome::queued);
    // b frees: b1 passes a1 and a2 (stuck on a, not b); "ab" stays behind a's waiters.
    on_b.held.release();
    CHECK(order == std::vector<std::string>{"b1"});
    on_a.held.release();
    CHECK(order == std::vector<std::string>{"b1", "a1"});
    held[1].release();  // a1 done: a2 next, then ab once both are free
    CHECK(order == std::vector<std::string>{"b1", "a1", "a2"});
    held[0].release();  // b1 done; ab still waits for a
    CHECK(order == std::vector<std::string>{"b1", "a1", "a2"});
    held[2].release();
    CHECK(order == std::vector<std::string>{"b1", "a1", "a2", "ab"});
}


TEST_CASE("waiting is refused at once when it cannot help", "[ledger]") {
    fake_clock clock;
    budget_def q = credits("q", "10", exceed_action::queue);
    ledger l({q}, {"credits"}, {}, 10, clock.get());
    CHECK(l.admit(ask({{0, m("11")}}), nullptr).result == admission::outcome::refused);  // more than the limit
    l.admit(ask({{0, m("8")}}), nullptr).held.commit(m("8"));
    // Nothing frozen, no period end: nothing will ever make room.
    CHECK(l.admit(ask({{0, m("5")}}), nullptr).result == admission::outcome::refused);
    auto holding = l.admit(ask({{0, m("2")}}), nullptr);
    auto waits = l.admit(ask({{0, m("2")}}), [](admission) {});
    CHECK(waits.result == admission::outcome::queued);  // releasing the 2 frozen would make room
}
