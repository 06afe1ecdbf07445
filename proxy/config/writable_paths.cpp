// unwritable_paths: what serve will write, checked before it starts (config.hpp).
#include "proxy/config/config.hpp"

#include <filesystem>
#include <system_error>

#include <unistd.h>

namespace creditgate::proxy {
namespace fs = std::filesystem;
namespace {

// Whether `dir` can hold new files: it exists and is writable, or the nearest folder above it
// that exists is (serve creates the rest). Empty when fine, else why not.
std::string folder_problem(const fs::path& dir) {
    std::error_code ec;
    fs::path at = dir;
    while (!at.empty() && !fs::exists(at, ec)) {
        if (at == at.parent_path()) break;
        at = at.parent_path();
    }
    if (!fs::is_directory(at, ec)) return at.string() + " is not a folder";
    if (::access(at.c_str(), W_OK | X_OK) != 0) return at.string() + " is not writable by this user";
    return {};
}

std::string file_problem(const fs::path& file) {
    std::error_code ec;
    if (fs::exists(file, ec)) {
        if (fs::is_directory(file, ec)) return file.string() + " is a folder";
        if (::access(file.c_str(), W_OK) != 0) return file.string() + " is not writable by this user";
        return {};
    }
    return folder_problem(file.parent_path());
}

}  // namespace

std::vector<std::string> unwritable_paths(const config& cfg) {
    std::vector<std::string> out;
    auto add = [&](const char* key, const std::string& problem) {
        if (problem.empty()) return;
        std::string line = key;
        line.append(": cannot write: ").append(problem);
        out.push_back(std::move(line));
    };
    std::error_code ec;
    const bool sqlite = cfg.storage.kind == storage_kind::sqlite;
    const bool ca_to_create = cfg.tls.mitm && !fs::exists(fs::path(cfg.tls.ca_dir) / "creditgate-ca.pem", ec);
    if (sqlite) add("state_dir", folder_problem(cfg.state_dir));
    if (ca_to_create) add("tls.ca_dir", folder_problem(cfg.tls.ca_dir));
    if (cfg.log.file) add("log.file", file_problem(*cfg.log.file));
    return out;
}

}  // namespace creditgate::proxy
