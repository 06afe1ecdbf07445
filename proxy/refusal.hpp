#pragma once
// refusal: the JSON answers of SPEC §5 — a status, a code in X-Creditgate-Error and the
// body {"error": {"code", "message", ...}} — rendered as bytes ready to write.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace creditgate::proxy {

struct refusal {
    unsigned status = 400;
    std::string code;
    std::string message;
    std::optional<std::int64_t> retry_after_s;  // whole seconds, at least 1
    nlohmann::json details = nlohmann::json::object();  // extra fields beside code and message
};

refusal make_refusal(unsigned status, std::string code, std::string message);

// The complete response. `keep_alive` false adds "Connection: close".
std::string render_refusal(const refusal& r, std::string_view request_id, unsigned version, bool keep_alive);

}  // namespace creditgate::proxy
