#include "proxy/refusal.hpp"

#include "policies/json_amount.hpp"
#include "proxy/http_head.hpp"

#include <boost/beast/http/status.hpp>

#include <algorithm>

namespace creditgate::proxy {

refusal make_refusal(unsigned status, std::string code, std::string message) {
    refusal r;
    r.status = status;
    r.code = std::move(code);
    r.message = std::move(message);
    return r;
}

std::string render_refusal(const refusal& r, std::string_view request_id, unsigned version, bool keep_alive) {
    nlohmann::json error = r.details;
    error["code"] = r.code;
    error["message"] = r.message;
    if (r.retry_after_s) error["retry_after_s"] = std::max<std::int64_t>(1, *r.retry_after_s);
    std::string body = policies::dump_exact(nlohmann::json{{"error", std::move(error)}});
    body += '\n';

    std::string out;
    out.reserve(256 + body.size());
    out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    out += std::to_string(r.status);
    out += ' ';
    out += std::string_view(http::obsolete_reason(static_cast<http::status>(r.status)));
    out += "\r\n";
    append_field(out, "Content-Type", "application/json");
    append_field(out, "Content-Length", std::to_string(body.size()));
    append_field(out, "X-Creditgate-Error", r.code);
    if (!request_id.empty()) append_field(out, "X-Creditgate-Request-Id", request_id);
    if (r.retry_after_s) append_field(out, "Retry-After", std::to_string(std::max<std::int64_t>(1, *r.retry_after_s)));
    if (r.status == 407) append_field(out, "Proxy-Authenticate", "Basic realm=\"creditgate\"");
    if (!keep_alive) append_field(out, "Connection", "close");
    else if (version == 10) append_field(out, "Connection", "keep-alive");
    out += "\r\n";
    out += body;
    return out;
}

}  // namespace creditgate::proxy
