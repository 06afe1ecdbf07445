#include "proxy/exchange/refusal.hpp"

#include "policies/json_amount.hpp"
#include "policies/period.hpp"
#include "proxy/net/http_head.hpp"

#include <boost/beast/http/status.hpp>

#include <algorithm>

namespace creditgate::proxy {

refusal make_refusal(policies::refusal_code code, std::string message) {
    refusal r;
    r.code = code;
    r.message = std::move(message);
    return r;
}

refusal from_books(const policies::refusal_detail& d) {
    refusal r = make_refusal(d.kind, d.message);
    r.retry_after_s = d.retry_after_s;
    using policies::amount_json;
    if (!d.budget.empty()) {
        r.details["budget"] = d.budget;
        r.details["limit"] = amount_json(d.limit);
        r.details["used"] = amount_json(d.used);
        r.details["frozen"] = amount_json(d.frozen);
        r.details["remaining"] = amount_json(d.remaining);
        r.details["cost"] = amount_json(d.cost);
        if (!d.unit.empty()) r.details["unit"] = d.unit;
        if (d.reset_at) r.details["reset_at"] = policies::format_utc(*d.reset_at);
    } else if (d.kind == policies::refusal_code::upstream_credits_exhausted) {
        r.details["cost"] = amount_json(d.cost);
    }
    return r;
}

refusal from_dial(const dial_failure& f) {
    switch (f.what) {
        case dial_failure::kind::not_allowed: return make_refusal(policies::refusal_code::destination_not_allowed, f.message);
        case dial_failure::kind::timeout: return make_refusal(policies::refusal_code::upstream_timeout, f.message);
        case dial_failure::kind::error: break;
    }
    return make_refusal(policies::refusal_code::upstream_error, f.message);
}

std::string render_refusal(const refusal& r, std::string_view request_id, unsigned version, bool keep_alive) {
    nlohmann::json error = r.details;
    error["code"] = std::string(policies::to_string(r.code));
    error["message"] = r.message;
    if (r.retry_after_s) error["retry_after_s"] = std::max<std::int64_t>(1, *r.retry_after_s);
    std::string body = policies::dump_exact(nlohmann::json{{"error", std::move(error)}});
    body += '\n';

    std::string out;
    out.reserve(256 + body.size());
    out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(r.status());
    out += ' ';
    out += std::string_view(http::obsolete_reason(static_cast<http::status>(r.status())));
    out += "\r\n";
    append_field(out, "Content-Type", "application/json");
    append_field(out, "Content-Length", std::to_string(body.size()));
    append_field(out, "X-Creditgate-Error", policies::to_string(r.code));
    if (!request_id.empty()) append_field(out, "X-Creditgate-Request-Id", request_id);
    if (r.retry_after_s) append_field(out, "Retry-After", std::to_string(std::max<std::int64_t>(1, *r.retry_after_s)));
    if (r.code == policies::refusal_code::proxy_auth_required) append_field(out, "Proxy-Authenticate", "Basic realm=\"creditgate\"");
    if (!keep_alive) append_field(out, "Connection", "close");
    else if (version == 10) append_field(out, "Connection", "keep-alive");
    out += "\r\n";
    out += body;
    return out;
}

}  // namespace creditgate::proxy
