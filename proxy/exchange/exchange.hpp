#pragma once
// exchange: one metered call through the proxy, in the phases of SPEC §5's metered exchange:
// inspect (the body, when the price depends on it) → price → admit (waiting in a budget queue
// when one is short) → send (over a pooled connection, with the retry rule) and await the
// answer's head while watching the client → settle → relay. A failure in any phase is one call
// that answers the client and aborts the metered call. Compiled once for plain and intercepted
// clients (client_stream). Only the phases that must wait are coroutines on their path: each
// coroutine frame costs ~300 instructions a call.

#include "policies/cost_model.hpp"
#include "policies/metered_call.hpp"
#include "policies/request_target.hpp"
#include "policies/vendor_profile.hpp"
#include "proxy/exchange/admission_wait.hpp"
#include "proxy/exchange/call_plan.hpp"
#include "proxy/exchange/client_io.hpp"
#include "proxy/exchange/exchange_heads.hpp"
#include "proxy/exchange/exchange_record.hpp"
#include "proxy/exchange/refuse.hpp"
#include "proxy/net/upstream_connector.hpp"
#include "proxy/worker.hpp"

#include <memory>
#include <optional>
#include <span>
#include <string>

namespace creditgate::proxy {

struct exchange_request {
    const policies::absolute_target& target;
    const policies::vendor_profile& vendor;
    bool client_is_tls = false;  // CONNECT-intercepted: as_client upstreams use TLS
};

// What a connection lends each exchange, reused from one to the next: the scratch buffer bodies
// pass through and the storage of the vendor's answer head.
struct exchange_space {
    std::span<char> scratch;
    message_head& response_head;
};

class metered_exchange {
public:
    metered_exchange(worker& w, const runtime& rt, client_stream& client, beast::flat_buffer& client_buffer,
                     request_parser& parser, const exchange_request& request, exchange_space space, exchange_record& record);
    // The call's finished row goes with the exchange, however it ends (a coroutine destroyed at
    // shutdown included), with the status the client got.
    ~metered_exchange() { call_.finish(record_.status); }
    metered_exchange(const metered_exchange&) = delete;
    metered_exchange& operator=(const metered_exchange&) = delete;

    task<void> run();

private:
    enum class attempt { answered, retry, failed };

    // Client-facing phases (exchange.cpp).
    bool needs_inspection() const;
    task<bool> inspect();
    std::optional<refusal> price();
    std::optional<refusal> above_max_cost() const;
    std::optional<refusal> admitted_as(admitted a);
    task<bool> send_continue();
    task<void> refuse(refusal r, bool must_close = false);
    task<void> fail(refusal r, policies::decision how);
    task<void> body_failed(const error_code& ec, bool sent_upstream);
    void ended(exchange_record::ending how, policies::decision decision);
    // Vendor-facing phases (exchange_upstream.cpp).
    void prepare_request();
    task<bool> forward_request();
    task<attempt> judge_send(const relay_outcome& sent, bool retryable);
    task<attempt> judge_head(const error_code& ec, bool client_left, bool retryable);
    task<bool> dial();
    task<void> settle_and_relay();
    std::string answer_preamble(const policies::settlement& settled, response_framing framing, const std::string& held_body,
                                bool keep_alive, bool whole);
    void account_relay(const relay_outcome& relayed, std::size_t held, bool keep_alive);
    void keep_connection(bool relayed_whole);

    worker& w_;
    const runtime& rt_;
    client_stream& client_;
    beast::flat_buffer& client_buffer_;
    request_parser& parser_;
    const exchange_request& request_;
    exchange_space space_;
    exchange_record& record_;
    const limits_config& limits_;
    policies::metering& books_;

    bool has_body_ = false, expect_continue_ = false, continue_sent_ = false;
    coarse_clock::time_point body_deadline_;  // request_body_s from the end of the head, plus time queued
    call_plan plan_;
    std::string request_body_;  // buffered only when a cost rule reads it
    nlohmann::json request_json_;
    bool body_buffered_ = false, body_parsed_ = false;
    policies::cost_estimate estimate_;
    policies::call_facts facts_;
    std::optional<admission_wait> admission_;
    policies::metered_call call_;
    // The vendor side.
    dial_target target_;
    std::string pool_key_, head_;
    body_framing request_framing_ = body_framing::none;
    bool may_retry_ = false;
    std::unique_ptr<upstream_connection> conn_;
    std::optional<response_parser> response_;
};

}  // namespace creditgate::proxy
