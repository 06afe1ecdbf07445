#pragma once
// metered_exchange: the state of one metered exchange and its phases (exchange.hpp says what each
// does). Private to the exchange room: exchange.cpp holds the client-facing phases, and
// exchange_upstream.cpp the vendor-facing ones.

#include "policies/cost_model.hpp"
#include "policies/metered_call.hpp"
#include "proxy/exchange/call_plan.hpp"
#include "proxy/exchange/exchange.hpp"
#include "proxy/exchange/exchange_heads.hpp"
#include "proxy/exchange/refuse.hpp"
#include "proxy/net/body_relay.hpp"
#include "proxy/net/upstream_connector.hpp"

#include <memory>
#include <optional>
#include <string>

namespace creditgate::proxy {

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
    task<bool> inspect();
    task<bool> admit();
    task<bool> send_continue();
    task<void> refuse(refusal r);
    task<void> fail(refusal r, policies::decision how);
    task<void> body_failed(const error_code& ec, bool sent_upstream);
    void ended(exchange_record::ending how, policies::decision decision);
    // Vendor-facing phases (exchange_upstream.cpp).
    void prepare_request();
    task<bool> forward_request();
    task<attempt> try_once(bool first);
    task<bool> dial();
    task<relay_outcome> send_request();
    task<error_code> await_head();
    task<void> settle_and_relay();
    task<void> relay(const policies::settlement& settled, response_framing framing, std::string held_body,
                     error_code inspect_error);
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
    policies::metered_call call_;
    // The vendor side.
    dial_target target_;
    std::string pool_key_, head_;
    body_framing request_framing_ = body_framing::none;
    bool may_retry_ = false, client_left_ = false;
    std::unique_ptr<upstream_connection> conn_;
    std::optional<response_parser> response_;
};

}  // namespace creditgate::proxy
