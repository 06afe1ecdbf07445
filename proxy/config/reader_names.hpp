#pragma once
// reader_names: the names every reader of the config room (config*.cpp, vendor_loader.cpp) uses,
// brought in once: `using namespace config_reading;`.

#include "policies/json_input.hpp"

#include <filesystem>

namespace creditgate::proxy::config_reading {

namespace fs = std::filesystem;
using policies::index_path;
using policies::issue_list;
using policies::json;
using policies::object_reader;

}  // namespace creditgate::proxy::config_reading
