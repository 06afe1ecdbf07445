#pragma once
// row_spill: ledger rows that could not be written when the store stopped (a full disk) are not
// dropped: they go to a file beside the database, one JSON object a line, and the next start
// writes them into the ledger before anything else. When even that file cannot be written, they
// go to stderr in the same form, so an operator can still replay them.

#include "policies/store/call_row.hpp"

#include <optional>
#include <string>
#include <vector>

namespace creditgate::policies {

std::string to_json_line(const call_row& row);
std::optional<call_row> from_json_line(const std::string& line);

// The file rows are spilled to for the ledger at `db_path`.
std::string spill_path(const std::string& db_path);

// Appends the rows to the spill file (fsynced); false when it could not, and then each row is
// written to stderr. `written` says where they went, for the log.
bool spill_rows(const std::string& db_path, const std::vector<call_row>& rows, std::string& written);

// The rows a previous stop spilled (empty when none), and whether the file could be read.
bool read_spilled(const std::string& db_path, std::vector<call_row>& rows, std::string& error);

}  // namespace creditgate::policies
