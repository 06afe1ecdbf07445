#include "proxy/forwarder.hpp"

#include "proxy/client_reply.hpp"
#include "proxy/coarse_clock.hpp"
#include "proxy/disconnect_watch.hpp"
#include "proxy/exchange_heads.hpp"
#include "proxy/ledger_entry.hpp"
#include "proxy/metered_call.hpp"
#include "proxy/upstream_connector.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>

namespace creditgate::proxy {
namespace {

bool is_idempotent(http::verb v) {
    return v == http::verb::get || v == http::verb::head || v == http::verb::options || v == http::verb::trace ||
           v == http::verb::put || v == http::verb::delete_;
}

bool has_body(const request_parser& p) { return p.chunked() || p.content_length().value_or(0) > 0; }

bool wants_tls(const forward_request& r) {
    switch (r.vendor.upstream_tls) {
        case policies::upstream_tls_mode::always: return true;
        case policies::upstream_tls_mode::never: return false;
        case policies::upstream_tls_mode::as_client: return r.target.https || r.client_is_tls;
    }
    return true;
}

refusal failure_refusal(const error_code& ec, std::string_view what, const dial_target& d, std::int64_t timeout_s) {
    const std::string where = d.host + ":" + std::to_string(d.port);
    if (ec == beast::error::timeout)
        return make_refusal(504, "upstream_timeout",
                            std::string(what) + " " + where + ": no progress within " + std::to_string(timeout_s) + " s");
    return make_refusal(502, "upstream_error", std::string(what) + " " + where + ": " + ec.message());
}

constexpr std::string_view continue_100 = "HTTP/1.1 100 Continue\r\n\r\n";

// Reads a message body into `out` until it is complete or holds more than `limit` bytes (so a
// body of exactly `limit` bytes is read whole, its chunked terminator included, and one byte
// more says "too large"). Returns the read error, if any.
template <class Stream, bool IsRequest>
task<error_code> read_body_into(Stream& in, beast::flat_buffer& buffer, flat_parser<IsRequest>& p,
                                std::string& out, std::size_t limit, std::span<char> scratch,
                                std::chrono::seconds timeout, coarse_clock::time_point deadline = no_deadline) {
    auto& body = p.body();
    while (!p.is_done() && out.size() <= limit) {
        // Never more than one byte past the limit: what we hold must stay bounded.
        const std::size_t offered = std::min(scratch.size(), limit + 1 - out.size());
        body.data = scratch.data();
        body.size = offered;
        expire_read(in, timeout, deadline);
        auto [ec, n] = co_await http::async_read_some(in, buffer, p, use_nothrow);
        if (ec == http::error::need_buffer) ec = {};
        if (ec == asio::ssl::error::stream_truncated && p.need_eof()) p.put_eof(ec);
        out.append(scratch.data(), offered - body.size);  // what this read delivered, not the whole scratch
        body.data = nullptr;
        body.size = 0;
        if (ec) co_return ec;
    }
    co_return error_code{};
}

}  // namespace

template <class ClientStream>
task<void> forward(worker& w, const runtime& rt, ClientStream& client, beast::flat_buffer& client_buffer,
                   request_parser& parser, const forward_request& request, exchange_space space,
                   exchange_record& record) {
    const auto& req = parser.get();
    const std::span<char> scratch = space.scratch;
    const auto& limits = rt.limits();
    const auto& vendor = request.vendor;
    auto& metering = *rt.metering();
    const auto client_timeout = seconds(limits.client_idle_s);
    const auto upstream_timeout = seconds(limits.upstream_idle_s);
    const unsigned client_version = req.version();
    const bool client_keep_alive = req.keep_alive();
    const bool head_request = req.method() == http::verb::head;
    const bool body = has_body(parser);
    const bool expect_continue = body && beast::iequals(req[http::field::expect], "100-continue");
    bool continue_sent = false;
    // The whole upload of the body must come within request_body_s of the end of its head (the
    // time a call waits in a budget queue is added: nobody reads the body meanwhile).
    auto body_deadline = coarse_clock::deadline_after(seconds(limits.request_body_s));
    record.vendor = vendor.name;
    // Every refusal of this exchange keeps or closes the connection by SPEC §5's one rule.
    auto refuse = [&](refusal r) {
        refusal_context ctx = refusal_context_for(w, rt, scratch);
        ctx.continue_sent = continue_sent;
        return refuse_request(client, client_buffer, parser, std::move(r), record, ctx);
    };
    // The client stopped sending its body: a slow one hears 408 while nothing went upstream.
    auto body_failed = [&](const error_code& ec, bool sent_upstream) -> task<void> {
        record.keep_alive = false;
        if (ec == beast::error::timeout && !sent_upstream) {
            co_await send_refusal(client,
                                  make_refusal(408, "request_timeout",
                                               "the request body did not arrive within " + std::to_string(limits.request_body_s) +
                                                   " s (limits.request_body_s) or stalled for " +
                                                   std::to_string(limits.client_idle_s) + " s"),
                                  record, client_version, false, client_timeout);
        } else {
            record.outcome = "client_aborted";
        }
        record.decision = "client_aborted";
    };

    // 1. Who pays: the account behind the request's key, or the one that injects a key.
    const call_plan plan = plan_call(rt, vendor, request.target, req);
    record.account = plan.account;
    if (plan.refused) {
        co_await refuse(*plan.refused);
        co_return;
    }

    // 2. The request body, buffered only when a cost rule reads it.
    std::string request_body;
    nlohmann::json request_json;
    bool body_buffered = false, body_parsed = false;
    if (body && vendor.cost.reads_json_body()) {
        const refusal too_large = make_refusal(413, "body_too_large", "the request body exceeds " +
                                                                          std::to_string(limits.request_inspect_bytes) + " bytes");
        if (parser.content_length().value_or(0) > limits.request_inspect_bytes) {
            co_await refuse(too_large);
            co_return;
        }
        if (expect_continue) {
            const asio::const_buffer interim = asio::buffer(continue_100);
            if (co_await write_all(client, std::span(&interim, 1), client_timeout)) {
                record.outcome = "client_aborted";
                co_return;
            }
            continue_sent = true;
        }
        if (auto ec = co_await read_body_into(client, client_buffer, parser, request_body, limits.request_inspect_bytes,
                                              scratch, client_timeout, body_deadline)) {
            co_await body_failed(ec, false);
            co_return;
        }
        if (!parser.is_done() || request_body.size() > limits.request_inspect_bytes) {
            co_await refuse(too_large);
            co_return;
        }
        body_buffered = true;
        body_parsed = policies::parse_priced_body(request_body, request_json);
    }

    // 3. Estimate and admission: frozen against every budget that applies, or refused, or queued.
    const auto path = request.target.path();
    const policies::request_facts facts{req.method_string(), path, &plan.query, body_parsed ? &request_json : nullptr,
                                        body_buffered && !body_parsed};
    const policies::cost_estimate estimate = policies::estimate_cost(vendor, facts);
    if (!estimate.ok()) {
        // A call the proxy cannot price is never sent (SPEC §1, §5).
        co_await refuse(make_refusal(400, std::string(policies::to_string(estimate.error)), estimate.message));
        co_return;
    }
    // Reserved: the estimate, raised to the largest actual its rules saw lately (bounded drift).
    const policies::money reserved = metering.reservation_for(vendor, estimate);
    policies::call_facts call_facts{record.client->id, record.client->team, &vendor, plan.account, path, reserved,
                                    {record.request_id, record.client->id, record.client->team, vendor.name, plan.account}};
    auto& store = rt.store();
    if (!store.healthy() && rt.cfg().storage.on_failure == storage_failure::reject) {
        // No spending without a record.
        refusal r = make_refusal(503, "storage_unavailable", "the ledger cannot be written; metered calls are refused until it can");
        r.retry_after_s = 1;
        co_await refuse(std::move(r));
        co_return;
    }
    const auto queued_from = coarse_clock::now();
    admitted_call call = co_await admit_call(w, metering, call_facts);
    call.estimate = estimate.amount;  // what settles when nothing better is known: the rules', not the raised reservation
    if (call.decision_name == "queued_allowed") body_deadline += coarse_clock::now() - queued_from;
    record.decision = call.decision_name;
    // The ledger's finished row is written when this exchange ends, however it ends.
    ledger_entry entry(store, record, reserved, vendor.usd_per_unit);
    if (call.refused) {
        co_await refuse(*call.refused);
        co_return;
    }
    if (call.decision_name == "queued_allowed" && client_has_left(beast::get_lowest_layer(client).socket())) {
        // It gave up while it waited: nothing goes to the vendor and the credits go back.
        record.outcome = "client_aborted";
        record.decision = "client_aborted";
        co_return;
    }
    entry.begin();
    const auto account_index = plan.account == "unregistered" ? metering.account_index("unregistered@" + vendor.name)
                                                              : metering.account_index(plan.account);
    // From here every exit before settlement releases the reservation (its destructor).

    // 4. Send it, over a pooled connection when there is one.
    const bool tls = wants_tls(request);
    const dial_target target{request.target.where.host,
                             request.target.explicit_port ? request.target.where.port : std::uint16_t(tls ? 443 : 80),
                             tls};
    const std::string key = upstream_key(target.tls, target.host, target.port);
    const bool may_retry = (!body || body_buffered) && is_idempotent(req.method());
    const request_shape shape{target_with_key(request.target, vendor, plan),
                              body_buffered ? body_framing::content_length
                              : parser.chunked() ? body_framing::chunked
                              : body ? body_framing::content_length
                                     : body_framing::none,
                              body_buffered ? std::optional<std::uint64_t>(request_body.size()) : to_std(parser.content_length()),
                              vendor.response.reads_body(), &plan.injected_key};
    const std::string head = request_head(parser, vendor, target, shape);

    std::unique_ptr<upstream_connection> conn;
    std::optional<response_parser> response;
    for (int attempt = 0;; ++attempt) {
        conn = attempt == 0 ? w.pool().take(key) : nullptr;
        if (!conn) {
            auto dialed = co_await dial_upstream(w.io(), rt, target);
            if (dialed.failure) {
                record.decision = dialed.failure->status == 504 ? "upstream_timeout" : "upstream_error";
                call.decision.held.release();  // released before the client hears of it
                co_await refuse(*dialed.failure);
                co_return;
            }
            conn = std::move(dialed.connection);
        }
        const bool reused = conn->uses > 0;

        if (expect_continue && !continue_sent) {
            const asio::const_buffer interim = asio::buffer(continue_100);
            if (co_await write_all(client, std::span(&interim, 1), client_timeout)) {
                record.outcome = "client_aborted";
                record.decision = "client_aborted";
                co_return;
            }
            continue_sent = true;
        }

        relay_outcome sent;
        if (body_buffered) {
            const std::array<asio::const_buffer, 2> both{asio::buffer(head), asio::buffer(request_body)};
            sent.write_error = co_await write_all(conn->stream, both, upstream_timeout);
            sent.complete = !sent.write_error;
        } else {
            sent = co_await relay_body(client, client_buffer, parser, conn->stream, head, shape.framing, scratch,
                                       client_timeout, upstream_timeout, body_deadline);
        }
        if (sent.read_error) {  // the client stopped sending its body; the upstream connection goes with it
            co_await body_failed(sent.read_error, sent.wrote_any);
            co_return;
        }
        if (sent.write_error) {
            if (reused && may_retry && attempt == 0) continue;
            record.decision = sent.write_error == beast::error::timeout ? "upstream_timeout" : "upstream_error";
            call.decision.held.release();
            co_await refuse(failure_refusal(sent.write_error, "sending the request to", target, limits.upstream_idle_s));
            co_return;
        }

        response.emplace(space.response_head);
        response->header_limit(64 * 1024);
        response->body_limit(boost::none);
        if (head_request) response->skip(true);
        error_code ec;
        {
            disconnect_watch watch(w.watches(), beast::get_lowest_layer(client).socket(), conn->stream.tcp());
            conn->stream.tcp().expires_after(seconds(limits.upstream_response_s));
            for (;;) {
                auto [rec, n] = co_await http::async_read_header(conn->stream, conn->buffer, *response, use_nothrow);
                ec = rec;
                const unsigned status = ec ? 0 : response->get().result_int();
                if (ec || status >= 200 || status == 101) break;
                // Interim answers (103 Early Hints, a stray 100) are not relayed.
                response.emplace(space.response_head);
                response->header_limit(64 * 1024);
                response->body_limit(boost::none);
                if (head_request) response->skip(true);
            }
            watch.stop();
            if (watch.client_left()) {
                // Before the vendor answered: the call is cancelled and its credits released.
                record.outcome = "client_aborted";
                record.decision = "client_aborted";
                co_return;
            }
        }
        if (ec) {
            // A pooled connection the vendor had already closed: retry once if that is safe.
            if (reused && may_retry && attempt == 0 && !response->got_some()) continue;
            record.decision = ec == beast::error::timeout ? "upstream_timeout" : "upstream_error";
            call.decision.held.release();
            co_await refuse(failure_refusal(ec, "waiting for the answer of", target, limits.upstream_response_s));
            co_return;
        }
        break;
    }

    if (response->get().result_int() == 101) {
        record.decision = "upstream_error";
        call.decision.held.release();
        co_await refuse(make_refusal(502, "upstream_error", "the vendor switched protocols unasked"));
        co_return;
    }

    // 5. The vendor answered: the call is committed at its actual cost, whatever the client does next.
    const response_framing framing = choose_framing(*response, head_request, client_version);
    const auto& res = response->get();
    std::string held_body;  // what we read to inspect, sent on first
    error_code inspect_error;
    if (framing.upstream != body_framing::none && policies::settlement_reads_body(vendor, res.result_int(), lookup_in(res))) {
        inspect_error = co_await read_body_into(conn->stream, conn->buffer, *response, held_body, limits.response_inspect_bytes,
                                                scratch, upstream_timeout);
    }
    // Whether the body a rule may need was read whole and decoded; if not, it settles at the estimate.
    bool body_complete = !inspect_error && held_body.size() <= limits.response_inspect_bytes &&
                         (held_body.empty() || response->is_done());
    std::string inspected;
    std::string_view inspect_view = held_body;
    if (!held_body.empty()) {
        const std::string_view coding = res[http::field::content_encoding];
        if (!coding.empty() && !beast::iequals(coding, "identity")) {
            auto inflated = inflate_for_inspection(coding, held_body, limits.response_inspect_bytes);
            if (!inflated) body_complete = false;
            inspected = std::move(inflated).value_or(std::string());
            inspect_view = inspected;
        }
        if (transfer_coded(res)) body_complete = false;  // "gzip, chunked": the bytes are still coded
    }
    const policies::settlement settled =
        settle_call(metering, vendor, call, account_index, res.result_int(), res, inspect_view, body_complete);
    metering.note_settled(vendor, estimate.rules_matched, settled.actual, estimate.amount);
    record.cost = settled.actual;
    record.status = res.result_int();

    const bool keep_alive = client_keep_alive && framing.client != body_framing::until_close && !inspect_error;
    std::string preamble = response_head(*response, framing, record, client_version, keep_alive,
                                         {settled.actual, &call.decision.warnings, settled.out_of_credit});
    append_framed(preamble, held_body, framing.client, response->is_done() && !inspect_error);
    if (inspect_error) {
        // The vendor failed mid-answer while we inspected it: the client gets what came, then the end.
        const asio::const_buffer all = asio::buffer(preamble);
        co_await write_all(client, std::span(&all, 1), client_timeout);
        record.bytes_sent = held_body.size();
        record.outcome = inspect_error == beast::error::timeout ? "upstream_timeout" : "upstream_error";
        record.keep_alive = false;
        co_return;
    }
    // The connection's last answer leaves with the close (see hold_until_close), when it is whole
    // in hand or short: a long or open-ended body may be a stream, and is not held back.
    constexpr std::uint64_t held_answer_limit = 64 * 1024;
    if (!keep_alive &&
        (response->is_done() || response->content_length().value_or(held_answer_limit + 1) <= held_answer_limit))
        tcp_layer(client).hold_until_close();
    // An answer already whole in hand (inspected) is all in the preamble, its last chunk included:
    // the relay then only writes it, or a chunked answer would end twice ("0\r\n\r\n" would
    // become the start of the client's next answer).
    const body_framing rest_framing = response->is_done() ? body_framing::none : framing.client;
    auto relayed = co_await relay_body(conn->stream, conn->buffer, *response, client, preamble, rest_framing, scratch,
                                       upstream_timeout, client_timeout);
    record.bytes_sent = held_body.size() + relayed.body_bytes;
    if (relayed.write_error) record.outcome = "client_aborted";
    else if (relayed.read_error == beast::error::timeout) record.outcome = "upstream_timeout";
    else if (relayed.read_error) record.outcome = "upstream_error";
    record.keep_alive = keep_alive && relayed.complete;

    if (relayed.complete && response->keep_alive() && framing.upstream != body_framing::until_close &&
        conn->clean_between_messages()) {
        ++conn->uses;
        conn->stream.tcp().expires_never();
        w.pool().put(std::move(conn));
    }
}

template task<void> forward<intercepted_stream>(worker&, const runtime&, intercepted_stream&, beast::flat_buffer&,
                                                request_parser&, const forward_request&, exchange_space,
                                                exchange_record&);
template task<void> forward<tcp_stream>(worker&, const runtime&, tcp_stream&, beast::flat_buffer&,
                                        request_parser&, const forward_request&, exchange_space,
                                        exchange_record&);

}  // namespace creditgate::proxy
