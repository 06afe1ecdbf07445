#pragma once
// access_log: the access line of every exchange, and the line of a blind tunnel when it ends.

#include "proxy/exchange/exchange_record.hpp"

#include <chrono>
#include <cstdint>

namespace creditgate::proxy {

// `elapsed`: from the record's start to its end.
void log_access(const exchange_record& record, std::chrono::steady_clock::duration elapsed);
// Tunnels are logged once, when they end.
void log_tunnel(const exchange_record& record, std::uint64_t bytes_up, std::uint64_t bytes_down, bool idle_timeout);

}  // namespace creditgate::proxy
