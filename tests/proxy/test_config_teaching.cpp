// check-config that teaches (issue 21): "did you mean", profiles shipped but not listed, one error
// for a bad vendors_dir, a profile whose name is not its file's, the queue timeout default,
// paths serve cannot write.
#include "policies/nearest_name.hpp"
#include "proxy/config/config.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

using namespace creditgate;
using namespace creditgate::proxy;

namespace {

const std::string vendors_dir = std::string(CREDITGATE_SOURCE_DIR) + "/config/vendors";

std::string config_text(const std::string& extra, const std::string& dir = vendors_dir) {
    return R"({"admin": {"token": "t"}, "vendors_dir": ")" + dir + R"(", "vendors": ["scraperapi", "crustdata"],
               "clients": [{"id": "eu-1", "team": "growth", "secret": "s"}])" + extra + "}";
}

config_result parse(const std::string& text) {
    return parse_config(text, "/etc/creditgate/cg.json", [](std::string_view) { return std::nullopt; });
}

std::vector<std::string> messages(const config_result& r) {
    std::vector<std::string> out;
    for (const auto& i : r.issues.items()) out.push_back(i.path + ": " + i.message);
    return out;
}

}  // namespace

TEST_CASE("nearest_name finds typos and only typos", "[config]") {
    const std::vector<std::string> names{"scraperapi", "crustdata", "helius", "neuji", "flush_ms"};
    struct row { const char* typed; const char* expected; };
    const row rows[] = {
        {"scraperap", "scraperapi"}, {"ScraperAPI", "scraperapi"}, {"crustdat", "crustdata"}, {"helios", "helius"},
        {"nueji", "neuji"}, {"flush_msec", "flush_ms"}, {"zenrows", ""}, {"x", ""}, {"", ""}, {"scraperapi", ""},
    };
    for (const auto& r : rows) {
        INFO(r.typed);
        auto best = policies::nearest_name(r.typed, names);
        CHECK(best.value_or("") == r.expected);
    }
}

TEST_CASE("config errors teach: the nearest name, and why a vendor is unknown", "[config]") {
    struct row { const char* extra; std::string expected; };
    const row rows[] = {
        {R"(, "storage": {"flush_msec": 10})", "storage.flush_msec: unknown key; did you mean \"flush_ms\"?"},
        {R"(, "budgets": [{"id": "b", "vendor": "crustdata", "limit": 5, "perod": "month"}])", "budgets[0].perod: unknown key; did you mean \"period\"?"},
        {R"(, "budgets": [{"id": "b", "vendor": "crustdat", "limit": 5}])", "budgets[0].vendor: unknown vendor \"crustdat\"; did you mean \"crustdata\"?"},
        {R"(, "budgets": [{"id": "b", "vendor": "helius", "limit": 5}])",
         "budgets[0].vendor: unknown vendor \"helius\": its profile is in " + vendors_dir + " but \"helius\" is not listed in \"vendors\""},
        {R"(, "accounts": [{"id": "n", "vendor": "neuji"}])",
         "accounts[0].vendor: unknown vendor \"neuji\": its profile is in " + vendors_dir + " but \"neuji\" is not listed in \"vendors\""},
        {R"(, "budgets": [{"id": "b", "vendor": "crustdata", "limit": 5, "scope": {"client": "eu1"}}])",
         "budgets[0].scope.client: unknown client \"eu1\"; did you mean \"eu-1\"?"},
        {R"(, "budgets": [{"id": "b", "vendor": "crustdata", "limit": 5, "scope": {"team": "grwth"}}])",
         "budgets[0].scope.team: unknown team \"grwth\" (no client belongs to it); did you mean \"growth\"?"},
        {R"(, "alerts": [{"name": "a", "url": "http://127.0.0.1:1/", "on": ["soft-limit"]}])",
         "alerts[0].on[0]: unknown event \"soft-limit\" (soft_limit, budget_exhausted, account_exhausted, poll_error, forecast); did you mean \"soft_limit\"?"},
        {R"(, "accounts": [{"id": "sa-main", "vendor": "scraperapi"}], "budgets": [{"id": "b", "vendor": "scraperapi", "limit": 5, "scope": {"account": "sa-mian"}}])",
         "budgets[0].scope.account: unknown account \"sa-mian\"; did you mean \"sa-main\"?"},
    };
    for (const auto& r : rows) {
        INFO(r.extra);
        const auto found = messages(parse(config_text(r.extra)));
        for (const auto& line : found) UNSCOPED_INFO(line);
        CHECK(std::find(found.begin(), found.end(), r.expected) != found.end());
        CHECK(found.size() == 1);  // the one mistake, once
    }
}

TEST_CASE("a listed vendor's missing profile suggests a shipped one", "[config]") {
    auto r = parse(R"({"admin": {"token": "t"}, "vendors_dir": ")" + vendors_dir + R"(", "vendors": ["scraperap"],
                       "clients": [], "budgets": [{"id": "b", "vendor": "scraperap", "limit": 5}]})");
    const auto found = messages(r);
    REQUIRE(found.size() == 1);  // not again for the budget that names it
    CHECK(found[0] == "vendors[0]: unknown vendor \"scraperap\" (no " + vendors_dir + "/scraperap.json); did you mean \"scraperapi\"?");
}

TEST_CASE("a vendors_dir that is not a folder is one error, not one per vendor", "[config]") {
    auto r = parse(config_text(R"(, "accounts": [{"id": "a", "vendor": "scraperapi"}],
                                 "budgets": [{"id": "b", "vendor": "crustdata", "limit": 5}])",
                               vendors_dir + "z"));
    const auto found = messages(r);
    REQUIRE(found.size() == 1);
    CHECK(found[0].rfind("vendors_dir: no folder " + vendors_dir + "z", 0) == 0);
}

TEST_CASE("a profile whose name is not its file's is named by its file", "[config]") {
    const auto dir = std::filesystem::temp_directory_path() / "creditgate-teach-vendors";
    std::filesystem::create_directories(dir);
    std::filesystem::copy_file(vendors_dir + "/neuji.json", dir / "zen.json", std::filesystem::copy_options::overwrite_existing);
    auto r = parse(R"({"admin": {"token": "t"}, "vendors_dir": ")" + dir.string() + R"(", "vendors": ["zen"],
                       "clients": [], "budgets": [{"id": "b", "vendor": "zen", "limit": 5}]})");
    const auto found = messages(r);
    REQUIRE(found.size() == 1);
    CHECK(found[0] == "vendors[0]: " + (dir / "zen.json").string() +
                          " is the profile \"neuji\"; a profile's \"name\" must be its file name (\"zen\")");

    // Listed by "file", it loads under its own name; a budget using the file's name is told which.
    auto by_file = parse(R"({"admin": {"token": "t"}, "vendors": [{"file": ")" + (dir / "zen.json").string() + R"("}],
                             "clients": [], "budgets": [{"id": "b", "vendor": "zen", "limit": 5}]})");
    const auto said = messages(by_file);
    REQUIRE(said.size() == 1);
    CHECK(said[0] == "budgets[0].vendor: unknown vendor \"zen\": " + (dir / "zen.json").string() + " is the profile \"neuji\" (its \"name\")");
    std::filesystem::remove_all(dir);
}

TEST_CASE("a queue without queue_timeout_ms is valid, with a note of the default", "[config]") {
    auto r = parse(config_text(R"(, "budgets": [{"id": "q", "vendor": "crustdata", "limit": 5, "on_exceed": "queue"},
                                              {"id": "t", "vendor": "crustdata", "limit": 5, "on_exceed": "queue", "queue_timeout_ms": 500}])"));
    REQUIRE(r.value);
    REQUIRE(r.value->notes.size() == 1);
    CHECK(r.value->notes[0] == "budgets[0].queue_timeout_ms: not set; a queued call waits at most 30000 ms (the default), then gets 429 queue_timeout");
}

TEST_CASE("paths serve cannot write are named", "[config]") {
    const auto dir = std::filesystem::temp_directory_path() / "creditgate-teach-paths";
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "a-file") << "x";
    auto r = parse(config_text(R"(, "state_dir": ")" + (dir / "a-file" / "var").string() + R"(", "log": {"file": ")" +
                               (dir / "a-file" / "cg.log").string() + R"("})"));
    REQUIRE(r.value);
    const auto problems = unwritable_paths(*r.value);
    const std::string not_folder = (dir / "a-file").string() + " is not a folder";
    CHECK(problems == std::vector<std::string>{"state_dir: cannot write: " + not_folder, "tls.ca_dir: cannot write: " + not_folder,
                                               "log.file: cannot write: " + not_folder});
    auto fine = parse(config_text(R"(, "state_dir": ")" + (dir / "new" / "var").string() + R"(")"));
    for (const auto& line : messages(fine)) UNSCOPED_INFO(line);
    REQUIRE(fine.value);
    CHECK(unwritable_paths(*fine.value).empty());  // a folder still to make, under a writable one
    std::filesystem::remove_all(dir);
}
