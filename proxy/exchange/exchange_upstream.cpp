// The vendor-facing phases of a metered exchange: send the request (over a pooled connection when
// there is one, with the retry rule of SPEC §5 step 3) and await the answer's head while watching
// the client, settle the call from the answer, and relay the answer.
#include "proxy/exchange/exchange.hpp"

#include "proxy/exchange/inspection.hpp"
#include "policies/store/call_row.hpp"
#include "proxy/net/disconnect_watch.hpp"

#include <boost/beast/http/read.hpp>

namespace creditgate::proxy {
namespace {

using policies::refusal_code;

bool is_idempotent(http::verb v) {
    return v == http::verb::get || v == http::verb::head || v == http::verb::options || v == http::verb::trace ||
           v == http::verb::put || v == http::verb::delete_;
}

bool wants_tls(const exchange_request& r) {
    switch (r.vendor.upstream_tls) {
        case policies::upstream_tls_mode::always: return true;
        case policies::upstream_tls_mode::never: return false;
        case policies::upstream_tls_mode::as_client: return r.target.https || r.client_is_tls;
    }
    return true;
}

policies::decision failure_decision(const error_code& ec) {
    return ec == beast::error::timeout ? policies::decision::upstream_timeout : policies::decision::upstream_error;
}

refusal failure_refusal(const error_code& ec, std::string_view what, const dial_target& d, std::int64_t timeout_s) {
    const std::string where = d.host + ":" + std::to_string(d.port);
    if (ec == beast::error::timeout)
        return make_refusal(refusal_code::upstream_timeout,
                            std::string(what) + " " + where + ": no progress within " + std::to_string(timeout_s) + " s");
    return make_refusal(refusal_code::upstream_error, std::string(what) + " " + where + ": " + ec.message());
}

void fresh_response(std::optional<response_parser>& response, message_head& head, bool head_request) {
    response.emplace(head);
    response->header_limit(64 * 1024);
    response->body_limit(boost::none);
    if (head_request) response->skip(true);
}

}  // namespace

// Where the call goes and the head the vendor gets.
void metered_exchange::prepare_request() {
    const auto& target = request_.target;
    const bool tls = wants_tls(request_);
    target_ = {target.where.host, target.explicit_port ? target.where.port : std::uint16_t(tls ? 443 : 80), tls};
    pool_key_ = upstream_key(target_.tls, target_.host, target_.port);
    may_retry_ = (!has_body_ || body_buffered_) && is_idempotent(parser_.get().method());
    request_framing_ = body_buffered_ ? body_framing::content_length
                       : parser_.chunked() ? body_framing::chunked
                       : has_body_ ? body_framing::content_length
                                   : body_framing::none;
    const request_shape shape{target_with_key(target, request_.vendor, plan_), request_framing_,
                              body_buffered_ ? std::optional<std::uint64_t>(request_body_.size()) : to_std(parser_.content_length()),
                              request_.vendor.response.reads_body(), &plan_.injected_key};
    head_ = request_head(parser_, request_.vendor, target_, shape);
}

// Sends the request and reads the answer's head, watching the client meanwhile (a client that
// hangs up before the vendor answers cancels the call). A stale pooled connection is retried once
// on a fresh one, for idempotent requests that got no answer byte.
task<bool> metered_exchange::forward_request() {
    const bool head_request = parser_.get().method() == http::verb::head;
    for (bool first = true;; first = false) {
        conn_ = first ? w_.pool().take(pool_key_) : nullptr;
        if (!conn_) {
            const bool dialed = co_await dial();
            if (!dialed) co_return false;
        }
        const bool retryable = first && conn_->uses > 0 && may_retry_;
        if (expect_continue_ && !continue_sent_) {
            const bool continued = co_await send_continue();
            if (!continued) co_return false;
        }
        relay_outcome sent;
        if (body_buffered_) {
            const std::array<asio::const_buffer, 2> both{asio::buffer(head_), asio::buffer(request_body_)};
            sent.write_error = co_await write_all(conn_->stream, both, seconds(limits_.upstream_idle_s));
            sent.complete = !sent.write_error;
        } else {
            sent = co_await relay_body(client_, client_buffer_, parser_, conn_->stream, head_, request_framing_, space_.scratch,
                                       seconds(limits_.client_idle_s), seconds(limits_.upstream_idle_s), body_deadline_);
        }
        if (sent.read_error || sent.write_error) {
            const attempt verdict = co_await judge_send(sent, retryable);
            if (verdict == attempt::retry) continue;
            co_return false;
        }
        fresh_response(response_, space_.response_head, head_request);
        disconnect_watch watch(w_.watches(), client_.socket(), conn_->stream.tcp());
        conn_->stream.tcp().expires_after(seconds(limits_.upstream_response_s));
        error_code ec;
        for (;;) {  // interim answers (103 Early Hints, a stray 100) are not relayed
            auto [rec, n] = co_await http::async_read_header(conn_->stream, conn_->buffer, *response_, use_nothrow);
            ec = rec;
            const unsigned status = ec ? 0 : response_->get().result_int();
            if (ec || status >= 200 || status == 101) break;
            fresh_response(response_, space_.response_head, head_request);
        }
        watch.stop();
        if (!ec && !watch.client_left()) co_return true;
        const attempt verdict = co_await judge_head(ec, watch.client_left(), retryable);
        if (verdict == attempt::retry) continue;
        co_return false;
    }
}

// The request could not be sent whole: the client stopped sending its body, or the vendor's
// connection failed (a stale pooled one is retried).
task<metered_exchange::attempt> metered_exchange::judge_send(const relay_outcome& sent, bool retryable) {
    if (sent.read_error) {  // the upstream connection goes with it
        co_await body_failed(sent.read_error, sent.wrote_any);
        co_return attempt::failed;
    }
    if (retryable) co_return attempt::retry;
    co_await fail(failure_refusal(sent.write_error, "sending the request to", target_, limits_.upstream_idle_s),
                  failure_decision(sent.write_error));
    co_return attempt::failed;
}

// No answer head: the client left first, the vendor had closed a pooled connection (retried), or
// it failed or timed out.
task<metered_exchange::attempt> metered_exchange::judge_head(const error_code& ec, bool client_left, bool retryable) {
    if (client_left) {  // before the vendor answered: cancelled, credits released
        call_.abort(policies::decision::client_aborted);
        ended(exchange_record::ending::client_aborted, policies::decision::client_aborted);
        co_return attempt::failed;
    }
    if (retryable && !response_->got_some()) co_return attempt::retry;
    co_await fail(failure_refusal(ec, "waiting for the answer of", target_, limits_.upstream_response_s), failure_decision(ec));
    co_return attempt::failed;
}

task<bool> metered_exchange::dial() {
    auto dialed = co_await dial_upstream(w_.io(), rt_.dialing(), target_);
    if (dialed.failure) {
        co_await fail(from_dial(*dialed.failure), dialed.failure->what == dial_failure::kind::timeout
                                                      ? policies::decision::upstream_timeout
                                                      : policies::decision::upstream_error);
        co_return false;
    }
    conn_ = std::move(dialed.connection);
    co_return true;
}

// The vendor answered: the call is committed at its actual cost, whatever the client does next;
// then the answer goes to the client.
task<void> metered_exchange::settle_and_relay() {
    if (response_->get().result_int() == 101) {
        co_await fail(make_refusal(refusal_code::upstream_error, "the vendor switched protocols unasked"),
                      policies::decision::upstream_error);
        co_return;
    }
    const auto& res = response_->get();
    const unsigned version = parser_.get().version();
    const response_framing framing = choose_framing(*response_, parser_.get().method() == http::verb::head, version);
    std::string held_body;  // what we read to inspect, sent on first
    error_code inspect_error;
    const std::size_t limit = limits_.response_inspect_bytes;
    if (framing.upstream != body_framing::none && policies::settlement_reads_body(request_.vendor, res.result_int(), lookup_in(res))) {
        const body_time time{seconds(limits_.upstream_idle_s)};  // named: GCC 12 and temporaries in co_await
        inspect_error = co_await read_body(conn_->stream, conn_->buffer, *response_, limit, space_.scratch, time, &held_body);
    }
    // Whether the body a rule may need was read whole; if not, it settles at the estimate.
    const bool body_complete = !inspect_error && held_body.size() <= limit && (held_body.empty() || response_->is_done());
    const policies::settlement settled = settle_answer(request_.vendor, call_, res.result_int(), res, held_body, body_complete, limit);
    call_.commit(settled);
    record_.cost = settled.actual;
    record_.cost_usd = policies::settled_usd(settled.actual, request_.vendor.usd_per_unit);
    record_.status = res.result_int();

    const bool keep_alive = parser_.get().keep_alive() && framing.client != body_framing::until_close && !inspect_error;
    std::string preamble = answer_preamble(settled, framing, held_body, keep_alive, response_->is_done() && !inspect_error);
    if (inspect_error) {  // the vendor failed mid-answer while we inspected it: the client gets what came
        const asio::const_buffer all = asio::buffer(preamble);
        co_await write_all(client_, std::span(&all, 1), seconds(limits_.client_idle_s));
        record_.bytes_sent = held_body.size();
        record_.end = inspect_error == beast::error::timeout ? exchange_record::ending::upstream_timeout
                                                              : exchange_record::ending::upstream_error;
        record_.keep_alive = false;
        co_return;
    }
    // An answer already whole in hand is all in the preamble, its last chunk included: the relay
    // then only writes it, or a chunked answer would end twice (and "0\r\n\r\n" would start the
    // client's next answer).
    const body_framing rest_framing = response_->is_done() ? body_framing::none : framing.client;
    auto relayed = co_await relay_body(conn_->stream, conn_->buffer, *response_, client_, preamble, rest_framing, space_.scratch,
                                       seconds(limits_.upstream_idle_s), seconds(limits_.client_idle_s));
    account_relay(relayed, held_body.size(), keep_alive);
    keep_connection(relayed.complete && framing.upstream != body_framing::until_close);
}

// The answer's head as the client gets it, with what was held for inspection after it. The
// connection's last answer leaves with the close (hold_until_close) when it is whole in hand or
// short: a long or open-ended body may be a stream, and is not held back.
std::string metered_exchange::answer_preamble(const policies::settlement& settled, response_framing framing,
                                              const std::string& held_body, bool keep_alive, bool whole) {
    std::string preamble = response_head(*response_, framing, record_, parser_.get().version(), keep_alive,
                                         {settled.actual, &call_.warnings(), settled.out_of_credit});
    append_framed(preamble, held_body, framing.client, whole);
    constexpr std::uint64_t held_answer_limit = 64 * 1024;
    if (!keep_alive && (response_->is_done() || response_->content_length().value_or(held_answer_limit + 1) <= held_answer_limit))
        tcp_layer(client_).hold_until_close();
    return preamble;
}

void metered_exchange::account_relay(const relay_outcome& relayed, std::size_t held, bool keep_alive) {
    record_.bytes_sent = held + relayed.body_bytes;
    if (relayed.write_error) record_.end = exchange_record::ending::client_aborted;
    else if (relayed.read_error == beast::error::timeout) record_.end = exchange_record::ending::upstream_timeout;
    else if (relayed.read_error) record_.end = exchange_record::ending::upstream_error;
    record_.keep_alive = keep_alive && relayed.complete;
}

// Back to the pool only when nothing of this answer is left over (SPEC §5: an answer that breaks
// its own framing never reaches another call).
void metered_exchange::keep_connection(bool relayed_whole) {
    if (!relayed_whole || !response_->keep_alive() || !conn_->clean_between_messages()) return;
    ++conn_->uses;
    conn_->stream.tcp().expires_never();
    w_.pool().put(std::move(conn_));
}

}  // namespace creditgate::proxy
