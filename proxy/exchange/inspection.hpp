#pragma once
// inspection: what a vendor's answer cost — the answer's head and, when a rule reads it, its body
// (gzip/deflate inflated for the reading only; the client gets the vendor's bytes) — through the
// profile's settlement rules (policies/settlement.hpp).

#include "policies/metered_call.hpp"
#include "policies/settlement.hpp"
#include "proxy/net/flat_message.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace creditgate::proxy {

// gzip/deflate inflated for inspection; nullopt for other codings, for data that is truncated or
// corrupt, and for a body that inflates past `limit` (a gzip bomb).
std::optional<std::string> inflate_for_inspection(std::string_view encoding, std::string_view bytes, std::size_t limit);

// The settlement of an answer. `body` is what was held for inspection (maybe nothing);
// `body_complete` whether it is the whole body. A body not read whole, or undecodable, settles at
// the estimate where a rule needed it (SPEC §4).
policies::settlement settle_answer(const policies::vendor_profile& vendor, const policies::metered_call& call, unsigned status,
                                   const flat_fields& head, std::string_view body, bool body_complete, std::size_t limit);

}  // namespace creditgate::proxy
