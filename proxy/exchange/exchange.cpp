// The client-facing phases of a metered exchange: the plan of who pays, the request body's
// inspection, the price, admission, and every way of answering the client without the vendor.
#include "proxy/exchange/exchange.hpp"

#include "proxy/net/disconnect_watch.hpp"
#include "policies/json_amount.hpp"

#include <boost/beast/core/string.hpp>

namespace creditgate::proxy {
namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

bool has_body(const request_parser& p) { return p.chunked() || p.content_length().value_or(0) > 0; }

}  // namespace

metered_exchange::metered_exchange(worker& w, const runtime& rt, client_stream& client, beast::flat_buffer& client_buffer,
                                   request_parser& parser, const exchange_request& request, exchange_space space,
                                   exchange_record& record)
    : w_(w), rt_(rt), client_(client), client_buffer_(client_buffer), parser_(parser), request_(request), space_(space),
      record_(record), limits_(rt.limits()), books_(*rt.metering()) {
    has_body_ = has_body(parser_);
    expect_continue_ = has_body_ && beast::iequals(parser_.get()[http::field::expect], "100-continue");
    // The whole upload of the body must come within request_body_s of the end of its head.
    body_deadline_ = coarse_clock::deadline_after(seconds(limits_.request_body_s));
    record_.vendor = request_.vendor.name;
}

// One await per statement throughout: GCC 12 miscompiles co_await inside && and ||.
task<void> metered_exchange::run() {
    plan_ = plan_call(books_, rt_.cfg().refuse_unregistered_keys, request_.vendor, request_.target, parser_.get());
    record_.account = plan_.account.name();
    std::optional<refusal> refused = plan_.refused;
    if (!refused && needs_inspection()) {
        const bool inspected = co_await inspect();
        if (!inspected) co_return;
    }
    if (!refused) refused = price();
    if (!refused) {
        admission_.emplace(w_, books_, facts_);
        admitted a = admission_->start();
        const auto queued_from = coarse_clock::now();
        if (a.queued) {
            a = co_await admission_->wait();
            body_deadline_ += coarse_clock::now() - queued_from;  // nobody read the body while it waited
        }
        refused = admitted_as(std::move(a));
    }
    if (refused) {
        co_await refuse(std::move(*refused));
        co_return;
    }
    if (!call_) co_return;  // the client left while it waited
    prepare_request();
    const bool answered = co_await forward_request();
    if (!answered) co_return;
    co_await settle_and_relay();
}

bool metered_exchange::needs_inspection() const { return has_body_ && request_.vendor.cost.reads_json_body(); }

// The request body, buffered and parsed: a cost rule reads it.
task<bool> metered_exchange::inspect() {
    const refusal too_large = make_refusal(policies::refusal_code::body_too_large,
                                           "the request body exceeds " + std::to_string(limits_.request_inspect_bytes) + " bytes");
    if (parser_.content_length().value_or(0) > limits_.request_inspect_bytes) {
        co_await refuse(too_large);
        co_return false;
    }
    if (expect_continue_ && !continue_sent_) {
        const bool continued = co_await send_continue();
        if (!continued) co_return false;
    }
    const body_time time{seconds(limits_.client_idle_s), body_deadline_};
    auto ec = co_await read_body(client_, client_buffer_, parser_, limits_.request_inspect_bytes, space_.scratch, time,
                                 &request_body_);
    if (ec) {
        co_await body_failed(ec, false);
        co_return false;
    }
    if (!parser_.is_done() || request_body_.size() > limits_.request_inspect_bytes) {
        co_await refuse(too_large);
        co_return false;
    }
    body_buffered_ = true;
    body_parsed_ = policies::parse_priced_body(request_body_, request_json_);
    co_return true;
}

// The estimate, and what admission needs to know of the call; or why it cannot be admitted.
std::optional<refusal> metered_exchange::price() {
    const auto& target = request_.target;
    const policies::request_facts facts{parser_.get().method_string(), target.path(), &plan_.query,
                                        body_parsed_ ? &request_json_ : nullptr, body_buffered_ && !body_parsed_};
    estimate_ = policies::estimate_cost(request_.vendor, facts);
    if (!estimate_.ok()) return make_refusal(*estimate_.error, estimate_.message);  // never sent unpriced (SPEC §1, §5)
    if (auto over = above_max_cost()) return over;
    if (!rt_.store().healthy() && rt_.cfg().storage.on_failure == storage_failure::reject) {
        refusal r = make_refusal(policies::refusal_code::storage_unavailable,
                                 "the ledger cannot be written; metered calls are refused until it can");
        r.retry_after_s = 1;  // no spending without a record
        return r;
    }
    facts_ = {record_.request_id, record_.client->id, record_.client->team, &request_.vendor, &plan_.account,
              parser_.get().method_string(), target.where.host, target.path(), estimate_.amount, estimate_.rules_matched,
              std::chrono::duration_cast<std::chrono::nanoseconds>(record_.started.time_since_epoch()).count()};
    return std::nullopt;
}

// X-Creditgate-Max-Cost (SPEC §12): the client's cap on this call's estimate, in the vendor's
// unit. Above it nothing is reserved or sent. (The header never reaches the vendor: every
// X-Creditgate-* field is dropped from the forwarded head.)
std::optional<refusal> metered_exchange::above_max_cost() const {
    const auto& head = parser_.get();
    const auto field = head.find(std::string_view("X-Creditgate-Max-Cost"));
    if (field == head.end()) return std::nullopt;
    const std::string_view text = field->value();
    const auto cap = policies::money::parse_amount(text);
    if (!cap || *cap < policies::money{})
        return make_refusal(policies::refusal_code::bad_request,
                            "X-Creditgate-Max-Cost: expected a non-negative amount in " + request_.vendor.unit + ", got \"" +
                                std::string(text.substr(0, 40)) + "\"");
    if (estimate_.amount <= *cap) return std::nullopt;
    refusal r = make_refusal(policies::refusal_code::max_cost_exceeded,
                             "this call is estimated at " + estimate_.amount.to_string() + " " + request_.vendor.unit +
                                 ", above X-Creditgate-Max-Cost " + cap->to_string());
    r.details["cost"] = policies::amount_json(estimate_.amount);
    r.details["max_cost"] = policies::amount_json(*cap);
    r.details["unit"] = request_.vendor.unit;
    return r;
}

// What admission answered: the call, or its refusal. A call admitted after waiting whose client
// left meanwhile is aborted here: nothing goes to the vendor and the credits go back.
std::optional<refusal> metered_exchange::admitted_as(admitted a) {
    record_.decision = a.how;
    if (a.refused) return std::move(a.refused);
    call_ = std::move(a.call);
    if (call_.decision() == policies::decision::queued_allowed && client_has_left(client_.socket())) {
        call_.abort(policies::decision::client_aborted);
        ended(exchange_record::ending::client_aborted, policies::decision::client_aborted);
        call_.finish(0);
        call_ = {};
    }
    return std::nullopt;
}

// Called only for a client that waits for it (a coroutine frame saved on every other call).
task<bool> metered_exchange::send_continue() {
    const asio::const_buffer interim = asio::buffer(continue_100);
    const error_code ec = co_await write_all(client_, std::span(&interim, 1), seconds(limits_.client_idle_s));
    if (ec) {
        call_.abort(policies::decision::client_aborted);
        ended(exchange_record::ending::client_aborted, policies::decision::client_aborted);
        co_return false;
    }
    continue_sent_ = true;
    co_return true;
}

// Every refusal of this exchange keeps or closes the connection by SPEC §5's one rule.
task<void> metered_exchange::refuse(refusal r, bool must_close) {
    refusal_context ctx = refusal_context_for(limits_, w_.state().draining.load(std::memory_order_relaxed), space_.scratch);
    ctx.continue_sent = continue_sent_;
    ctx.must_close = must_close;
    co_await refuse_request(client_, client_buffer_, parser_, std::move(r), record_, ctx);
}

// The call admitted, no answer from the vendor: the reservation goes back before the client hears.
task<void> metered_exchange::fail(refusal r, policies::decision how) {
    call_.abort(how);
    record_.decision = how;
    co_await refuse(std::move(r));
}

// The client stopped sending its body: a slow one hears 408 (and the connection closes, SPEC §5)
// while nothing went upstream.
task<void> metered_exchange::body_failed(const error_code& ec, bool sent_upstream) {
    call_.abort(policies::decision::client_aborted);
    record_.keep_alive = false;
    record_.decision = policies::decision::client_aborted;
    if (ec != beast::error::timeout || sent_upstream) {
        record_.end = exchange_record::ending::client_aborted;
        co_return;
    }
    co_await refuse(make_refusal(policies::refusal_code::request_timeout,
                                 "the request body did not arrive within " + std::to_string(limits_.request_body_s) +
                                     " s (limits.request_body_s) or stalled for " + std::to_string(limits_.client_idle_s) + " s"),
                    true);
}

void metered_exchange::ended(exchange_record::ending how, policies::decision decision) {
    record_.end = how;
    record_.decision = decision;
    record_.keep_alive = false;
}

}  // namespace creditgate::proxy
