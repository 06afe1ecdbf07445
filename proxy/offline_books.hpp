#pragma once
// offline_books: the books of a config as its ledger has them, for commands that read budgets
// without serving (`estimate`, `report --budgets`): the SQLite ledger in state_dir opened read-only
// (the proxy may be running), or empty books when there is none to read, with a note saying so.

#include "policies/metering.hpp"
#include "proxy/config/config.hpp"

#include <memory>
#include <string>

namespace creditgate::proxy {

std::shared_ptr<policies::metering> offline_books(const config& cfg, std::string& note);

}  // namespace creditgate::proxy
