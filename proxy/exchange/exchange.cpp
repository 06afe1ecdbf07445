// The client-facing phases of a metered exchange: the plan of who pays, the request body's
// inspection, admission, and every way of answering the client without the vendor.
#include "proxy/exchange/metered_exchange.hpp"

#include "proxy/exchange/admission_wait.hpp"
#include "proxy/net/disconnect_watch.hpp"

#include <boost/beast/core/string.hpp>

namespace creditgate::proxy {
namespace {

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

bool has_body(const request_parser& p) { return p.chunked() || p.content_length().value_or(0) > 0; }

}  // namespace

task<void> run_exchange(worker& w, const runtime& rt, client_stream& client, beast::flat_buffer& client_buffer,
                        request_parser& parser, const exchange_request& request, exchange_space space,
                        exchange_record& record) {
    metered_exchange exchange(w, rt, client, client_buffer, parser, request, space, record);
    co_await exchange.run();
}

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

task<void> metered_exchange::run() {
    plan_ = plan_call(books_, rt_.cfg().refuse_unregistered_keys, request_.vendor, request_.target, parser_.get());
    record_.account = plan_.account.name();
    if (plan_.refused) {
        co_await refuse(*plan_.refused);
        co_return;
    }
    // One await per statement: GCC 12 miscompiles co_await inside && and || (a crash here).
    const bool inspected = co_await inspect();
    if (!inspected) co_return;
    const bool admitted_call = co_await admit();
    if (!admitted_call) co_return;
    prepare_request();
    const bool answered = co_await forward_request();
    if (!answered) co_return;
    co_await settle_and_relay();
}

// The request body, buffered and parsed only when a cost rule reads it.
task<bool> metered_exchange::inspect() {
    if (!has_body_ || !request_.vendor.cost.reads_json_body()) co_return true;
    const refusal too_large = make_refusal(policies::refusal_code::body_too_large,
                                           "the request body exceeds " + std::to_string(limits_.request_inspect_bytes) + " bytes");
    if (parser_.content_length().value_or(0) > limits_.request_inspect_bytes) {
        co_await refuse(too_large);
        co_return false;
    }
    if (!co_await send_continue()) co_return false;
    const body_time time{seconds(limits_.client_idle_s), body_deadline_};
    auto ec = co_await read_body(client_, client_buffer_, parser_, limits_.request_inspect_bytes, space_.scratch, time,
                                 [this](std::string_view piece) { request_body_.append(piece); });
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

// Estimate, then admission: frozen against every budget that applies, or refused, or queued.
task<bool> metered_exchange::admit() {
    const auto& target = request_.target;
    const policies::request_facts facts{parser_.get().method_string(), target.path(), &plan_.query,
                                        body_parsed_ ? &request_json_ : nullptr, body_buffered_ && !body_parsed_};
    estimate_ = policies::estimate_cost(request_.vendor, facts);
    if (!estimate_.ok()) {  // a call the proxy cannot price is never sent (SPEC §1, §5)
        co_await refuse(make_refusal(*estimate_.error, estimate_.message));
        co_return false;
    }
    if (!rt_.store().healthy() && rt_.cfg().storage.on_failure == storage_failure::reject) {
        refusal r = make_refusal(policies::refusal_code::storage_unavailable,
                                 "the ledger cannot be written; metered calls are refused until it can");
        r.retry_after_s = 1;  // no spending without a record
        co_await refuse(std::move(r));
        co_return false;
    }
    facts_ = {record_.request_id, record_.client->id, record_.client->team, &request_.vendor, &plan_.account,
              parser_.get().method_string(), target.where.host, target.path(), estimate_.amount, estimate_.rules_matched,
              std::chrono::duration_cast<std::chrono::nanoseconds>(record_.started.time_since_epoch()).count()};
    const auto queued_from = coarse_clock::now();
    admitted a = co_await admit_waiting(w_, books_, facts_);
    record_.decision = a.how;
    if (a.refused) {
        co_await refuse(std::move(*a.refused));
        co_return false;
    }
    call_ = std::move(a.call);
    if (call_.decision() != policies::decision::queued_allowed) co_return true;
    body_deadline_ += coarse_clock::now() - queued_from;  // nobody read the body while it waited
    if (!client_has_left(client_.socket())) co_return true;
    // It gave up while it waited: nothing goes to the vendor and the credits go back.
    call_.abort(policies::decision::client_aborted);
    ended(exchange_record::ending::client_aborted, policies::decision::client_aborted);
    co_return false;
}

task<bool> metered_exchange::send_continue() {
    if (!expect_continue_ || continue_sent_) co_return true;
    const asio::const_buffer interim = asio::buffer(continue_100);
    if (co_await write_all(client_, std::span(&interim, 1), seconds(limits_.client_idle_s))) {
        ended(exchange_record::ending::client_aborted, policies::decision::client_aborted);
        call_.abort(policies::decision::client_aborted);
        co_return false;
    }
    continue_sent_ = true;
    co_return true;
}

// Every refusal of this exchange keeps or closes the connection by SPEC §5's one rule.
task<void> metered_exchange::refuse(refusal r) {
    refusal_context ctx = refusal_context_for(limits_, w_.state().draining.load(std::memory_order_relaxed), space_.scratch);
    ctx.continue_sent = continue_sent_;
    co_await refuse_request(client_, client_buffer_, parser_, std::move(r), record_, ctx);
}

// The call admitted, no answer from the vendor: the reservation goes back before the client hears.
task<void> metered_exchange::fail(refusal r, policies::decision how) {
    call_.abort(how);
    record_.decision = how;
    co_await refuse(std::move(r));
}

// The client stopped sending its body: a slow one hears 408 while nothing went upstream.
task<void> metered_exchange::body_failed(const error_code& ec, bool sent_upstream) {
    call_.abort(policies::decision::client_aborted);
    record_.keep_alive = false;
    record_.decision = policies::decision::client_aborted;
    if (ec == beast::error::timeout && !sent_upstream) {
        refusal_context ctx = refusal_context_for(limits_, w_.state().draining.load(std::memory_order_relaxed), space_.scratch);
        ctx.must_close = true;  // SPEC §5: past request_body_s the connection closes
        co_await refuse_request(client_, client_buffer_, parser_,
                                make_refusal(policies::refusal_code::request_timeout,
                                             "the request body did not arrive within " + std::to_string(limits_.request_body_s) +
                                                 " s (limits.request_body_s) or stalled for " +
                                                 std::to_string(limits_.client_idle_s) + " s"),
                                record_, ctx);
    } else {
        record_.end = exchange_record::ending::client_aborted;
    }
}

void metered_exchange::ended(exchange_record::ending how, policies::decision decision) {
    record_.end = how;
    record_.decision = decision;
    record_.keep_alive = false;
}

}  // namespace creditgate::proxy
