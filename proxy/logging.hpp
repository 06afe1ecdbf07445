#pragma once
// logging: spdlog set up from the config — text or one JSON object a line, to stderr or
// log.file — and the sink the access log (exchange/access_log) writes its lines into.

#include "proxy/config/config.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <string>

namespace creditgate::proxy {

// Installs the default logger ("creditgate") and the access logger. False with `error`
// when the log file cannot be opened.
bool setup_logging(const log_config& cfg, std::string& error);

// SIGUSR1 (logrotate): log.file is opened again under its name, the lines of every thread go
// there from now on. True when there is no file. False with `error` when it cannot be opened.
bool reopen_log_file(std::string& error);
// Before the config is read: plain text to stderr.
void setup_bootstrap_logging();

// The access log's sink (exchange/access_log.cpp writes the lines): a buffer per thread, written
// out in blocks. Each worker calls flush_access_log() periodically and when it stops.
bool access_log_enabled();
bool access_log_json();
std::string& access_line_buffer();  // this thread's; append whole lines only
void access_line_written();         // writes the buffer out once it holds a block
void flush_access_log();

}  // namespace creditgate::proxy
