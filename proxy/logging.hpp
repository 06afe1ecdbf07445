#pragma once
// logging: spdlog set up from the config — text or one JSON object a line, to stderr or
// log.file — and the access log line of every exchange. Nothing secret is ever passed in:
// paths are logged without their query, credentials never.

#include "proxy/config.hpp"
#include "proxy/exchange.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

namespace creditgate::proxy {

// Installs the default logger ("creditgate") and the access logger. False with `error`
// when the log file cannot be opened.
bool setup_logging(const log_config& cfg, std::string& error);

// Before the config is read: plain text to stderr.
void setup_bootstrap_logging();

// Buffered per thread; written out in blocks. Each worker calls flush_access_log()
// periodically and when it stops. `elapsed`: from the record's start to its end.
void log_access(const exchange_record& record, std::chrono::steady_clock::duration elapsed);
void flush_access_log();

// Tunnels are logged once, when they end.
void log_tunnel(const exchange_record& record, std::uint64_t bytes_up, std::uint64_t bytes_down, bool idle_timeout);

}  // namespace creditgate::proxy
