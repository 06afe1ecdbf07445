#include "proxy/config/config.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>

using namespace creditgate;
using namespace creditgate::proxy;

namespace {

const std::string source_dir = CREDITGATE_SOURCE_DIR;
const std::string vendors_dir = source_dir + "/config/vendors";

policies::env_lookup env_of(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

// A minimal valid config with `extra` members spliced in (JSON text, leading comma included).
std::string config_text(const std::string& extra) {
    return R"({
        "listen": "127.0.0.1:0",
        "admin": {"listen": "127.0.0.1:0", "token": "t"},
        "vendors_dir": ")" + vendors_dir + R"(",
        "vendors": ["scraperapi", "neuji", {"use": "crustdata", "hosts": ["crust.internal"], "upstream_tls": "never"}],
        "clients": [{"id": "eu-1", "team": "growth", "secret": "s"}])" + extra + "}";
}

config_result parse(const std::string& text, std::map<std::string, std::string> env = {}) {
    return parse_config(text, "/etc/creditgate/cg.json", env_of(std::move(env)));
}

bool has_issue(const config_result& r, const std::string& path, const std::string& fragment = "") {
    for (const auto& i : r.issues.items())
        if (i.path == path && i.message.find(fragment) != std::string::npos) return true;
    return false;
}

}  // namespace

TEST_CASE("the example config validates", "[config]") {
    auto r = load_config(source_dir + "/config/creditgate.example.json", env_of({}));
    for (const auto& line : r.issues.formatted()) UNSCOPED_INFO(line);
    REQUIRE(r.value);
    CHECK(r.value->vendors.size() == 5);
    REQUIRE(r.value->admin_tokens.size() == 2);
    CHECK(r.value->admin_tokens[0].token == "dev-token");
    CHECK(r.value->admin_tokens[1].role == admin_role::viewer);
    CHECK(r.value->admin_tokens[1].team == "growth");
}

TEST_CASE("a minimal config and its derived values", "[config]") {
    auto r = parse(config_text(R"(, "state_dir": "state", "passthrough": ["PyPI.org."],
                                   "resolve": {"API.ScraperAPI.com:443": "127.0.0.1:18443"})"));
    for (const auto& line : r.issues.formatted()) UNSCOPED_INFO(line);
    REQUIRE(r.value);
    const config& c = *r.value;
    CHECK(c.state_dir == "/etc/creditgate/state");
    CHECK(c.tls.ca_dir == "/etc/creditgate/state/ca");
    CHECK(c.passthrough == std::vector<std::string>{"pypi.org"});
    REQUIRE(c.resolve.count("api.scraperapi.com:443"));
    CHECK(c.resolve.at("api.scraperapi.com:443").port == 18443);
    const auto* crust = c.find_vendor("crustdata");
    REQUIRE(crust);
    CHECK(crust->hosts == std::vector<std::string>{"crust.internal"});  // `use` replaces the list
    CHECK(crust->upstream_tls == policies::upstream_tls_mode::never);
}

TEST_CASE("every config error names its JSON path", "[config]") {
    struct row { const char* extra; const char* path; const char* fragment; };
    const row rows[] = {
        {R"(, "colour": "blue")", "colour", "unknown key"},
        {R"(, "threads": -1)", "threads", "between"},
        {R"(, "storage": {"kind": "postgres"})", "storage.url", "required"},
        {R"(, "storage": {"kind": "mysql"})", "storage.kind", "postgres"},
        {R"(, "storage": {"kind": "postgres", "url": "postgresql:///x", "lease": {"ttl_s": 1}})", "storage.lease.ttl_s", "between"},
        {R"(, "storage": {"kind": "postgres", "url": "postgresql:///x", "lease": {"ttl": 9}})", "storage.lease.ttl", "unknown key"},
        {R"(, "storage": {"kind": "sqlite", "url": "postgresql:///x"})", "storage.url", "only with"},
        {R"(, "storage": {"kind": "sqlite", "flush": 1})", "storage.flush", "unknown key"},
        {R"(, "log": {"format": "xml"})", "log.format", ""},
        {R"(, "limits": {"header_bytes": 10})", "limits.header_bytes", "between"},
        {R"(, "tls": {"upstream_ca_file": "/nonexistent/ca.pem"})", "tls.upstream_ca_file", "cannot read"},
        {R"(, "resolve": {"nohost": "127.0.0.1:1"})", "resolve.nohost", "HOST:PORT"},
        {R"(, "resolve": {"a.com:443": "127.0.0.1"})", "resolve.a.com:443", "ADDRESS:PORT"},
        {R"(, "accounts": [{"id": "x", "vendor": "nope"}])", "accounts[0].vendor", "unknown vendor \"nope\""},
        {R"(, "accounts": [{"id": "unregistered", "vendor": "neuji"}])", "accounts[0].id", "reserved"},
        {R"(, "accounts": [{"id": "a", "vendor": "neuji", "api_key": "k", "inject": true},
                           {"id": "b", "vendor": "neuji", "api_key": "k2", "inject": true}])", "accounts[1].inject", "already"},
        {R"(, "budgets": [{"id": "b", "vendor": "nope", "limit": 5}])", "budgets[0].vendor", "unknown vendor \"nope\""},
        {R"(, "budgets": [{"id": "b", "vendor": "neuji", "limit": 5, "scope": {"client": "ghost"}}])", "budgets[0].scope.client", "ghost"},
        {R"(, "budgets": [{"id": "b", "vendor": "neuji", "limit": 5, "scope": {"team": "nobody"}}])", "budgets[0].scope.team", "nobody"},
        {R"(, "budgets": [{"id": "b", "vendor": "*", "unit": "usd", "limit": 5}])", "budgets[0].vendor", "usd_per_unit"},
        {R"(, "budgets": [{"id": "b", "vendor": "neuji", "limit": 5}, {"id": "b", "vendor": "neuji", "limit": 6}])", "budgets[1].id", "twice"},
        {R"(, "unregistered_keys": "maybe")", "unregistered_keys", ""},
        {R"(, "passthrough": ["bad host"])", "passthrough[0]", ""},
        {R"(, "allow_private_destinations": "yes")", "allow_private_destinations", "true or false"},
    };
    for (const auto& r : rows) {
        INFO(r.extra);
        auto result = parse(config_text(r.extra));
        for (const auto& line : result.issues.formatted()) UNSCOPED_INFO(line);
        CHECK_FALSE(result.value);
        CHECK(has_issue(result, r.path, r.fragment));
    }
}

TEST_CASE("top-level mistakes", "[config]") {
    CHECK(has_issue(parse(R"({"admin": {"token": ""}})"), "admin.token", "must not be empty"));
    CHECK(has_issue(parse(R"({})"), "admin.token", "required"));
    CHECK(has_issue(parse(R"({"admin": {"token": "t"}, "listen": "8080"})"), "listen", "HOST:PORT"));
    CHECK(has_issue(parse(R"({"admin": {"token": "t"}, "vendors": ["nosuchvendor"], "vendors_dir": ")" + vendors_dir + R"("})"),
                    "vendors[0]", "unknown vendor \"nosuchvendor\""));
    CHECK(has_issue(parse(R"({"admin": {"token": "${ADMIN_TOKEN}"}})"), "admin.token", "ADMIN_TOKEN"));
    auto with_env = parse(R"({"admin": {"token": "${ADMIN_TOKEN}"}})", {{"ADMIN_TOKEN", "from-env"}});
    REQUIRE(with_env.value);
    CHECK(with_env.value->admin_tokens.at(0).token == "from-env");
    // All errors at once, not just the first.
    auto many = parse(R"({"admin": {"token": ""}, "threads": "x", "colour": 1})");
    CHECK(many.issues.items().size() >= 3);
}

TEST_CASE("a profile's errors name the profile file", "[config]") {
    const auto dir = std::filesystem::temp_directory_path() / "creditgate-config-test";
    std::filesystem::create_directories(dir);
    const auto profile = dir / "acme.json";
    std::ofstream(profile) << R"({"name": "acme", "hosts": ["api.acme.test"], "upstream_tls": "sometimes", "colour": 1})";
    auto r = parse_config(R"({"admin": {"token": "t"}, "vendors": [{"file": "acme.json"}]})", (dir / "cg.json").string(), env_of({}));
    CHECK_FALSE(r.value);
    bool named = false;
    for (const auto& i : r.issues.items()) named = named || (i.file == profile.string() && i.path == "upstream_tls");
    CHECK(named);
    std::filesystem::remove_all(dir);
}

TEST_CASE("admin tokens: roles, teams, no empty or repeated token", "[config]") {
    // A config with admin.tokens in place of the minimal admin section.
    auto with_admin = [](const std::string& admin) {
        std::string text = config_text("");
        const std::string minimal = R"("admin": {"listen": "127.0.0.1:0", "token": "t"})";
        text.replace(text.find(minimal), minimal.size(), "\"admin\": " + admin);
        return parse(text);
    };
    auto ok = with_admin(R"({"token": "t", "tokens": [{"name": "lead", "token": "l", "role": "admin"},
                                                     {"name": "growth", "token": "g", "role": "viewer", "team": "growth"}]})");
    for (const auto& line : ok.issues.formatted()) UNSCOPED_INFO(line);
    REQUIRE(ok.value);
    REQUIRE(ok.value->admin_tokens.size() == 3);
    CHECK(ok.value->admin_tokens[0].name == "admin");
    CHECK(ok.value->admin_tokens[2].role == admin_role::viewer);
    CHECK(ok.value->admin_tokens[2].team == "growth");
    // admin.token may go when the list has the tokens.
    CHECK(with_admin(R"({"tokens": [{"name": "lead", "token": "l", "role": "admin"}]})").value);
    CHECK(has_issue(with_admin(R"({"tokens": [{"name": "lead", "token": "l"}]})"), "admin.tokens[0].role", "required"));

    struct bad {
        const char* admin;
        const char* path;
        const char* says;
    };
    const bad table[] = {
        {R"({})", "admin.token", "required"},
        {R"({"token": ""})", "admin.token", "must not be empty"},
        {R"({"token": "t", "tokens": [{"name": "a", "token": "", "role": "admin"}]})", "admin.tokens[0].token", "must not be empty"},
        {R"({"token": "t", "tokens": [{"name": "a", "token": "t", "role": "admin"}]})", "admin.tokens[0].token", "given twice"},
        {R"({"token": "t", "tokens": [{"name": "admin", "token": "x", "role": "admin"}]})", "admin.tokens[0].name", "used twice"},
        {R"({"token": "t", "tokens": [{"name": "v", "token": "x", "role": "viewer"}]})", "admin.tokens[0].team", "required"},
        {R"({"token": "t", "tokens": [{"name": "v", "token": "x", "role": "viewer", "team": "grwoth"}]})", "admin.tokens[0].team",
         "no client is in team \"grwoth\""},
        {R"({"token": "t", "tokens": [{"name": "v", "token": "x", "role": "owner"}]})", "admin.tokens[0].role", "\"viewer\""},
        {R"({"token": "t", "tokens": [{"name": "v", "token": "x", "role": "admin", "team": "growth"}]})", "admin.tokens[0].team", "only to viewers"},
        {R"({"token": "t", "tokens": [{"name": "v", "token": "x", "role": "admin", "colour": 1}]})", "admin.tokens[0].colour", ""},
        {R"({"token": "t", "tokens": {"name": "v"}})", "admin.tokens", "list"},
    };
    for (const auto& b : table) {
        INFO(b.admin);
        const auto r = with_admin(b.admin);
        for (const auto& line : r.issues.formatted()) UNSCOPED_INFO(line);
        CHECK_FALSE(r.value);
        CHECK(has_issue(r, b.path, b.says));
    }
}

TEST_CASE("alerts: targets, formats and events, the URL never in an error", "[config]") {
    auto ok = parse(config_text(R"(, "alerts": [{"name": "ops", "url": "https://hooks.example.com/services/T/B/secret", "format": "slack"},
                                               {"name": "audit", "url": "http://10.0.0.5:8080/in?key=k", "on": ["forecast", "poll_error"]}])"));
    for (const auto& line : ok.issues.formatted()) UNSCOPED_INFO(line);
    REQUIRE(ok.value);
    REQUIRE(ok.value->alerts.size() == 2);
    CHECK(ok.value->alerts[0].format == alert_format::slack);
    CHECK(ok.value->alerts[0].on.size() == 5);  // every event when "on" is left out
    CHECK(ok.value->alerts[0].described == "https://hooks.example.com");
    CHECK(ok.value->alerts[1].described == "http://10.0.0.5:8080");
    CHECK(ok.value->alerts[1].on == std::vector<policies::alert_kind>{policies::alert_kind::forecast, policies::alert_kind::poll_error});
    struct bad {
        const char* alerts;
        const char* path;
        const char* says;
    };
    const bad table[] = {
        {R"([{"url": "http://x/"}])", "alerts[0].name", "required"},
        {R"([{"name": "a", "url": "ftp://x/secret-token"}])", "alerts[0].url", "http:// or https://"},
        {R"([{"name": "a", "url": "http://x/", "format": "teams"}])", "alerts[0].format", "slack"},
        {R"([{"name": "a", "url": "http://x/", "on": ["soft-limit"]}])", "alerts[0].on[0]", "unknown event"},
        {R"([{"name": "a", "url": "http://x/", "on": []}])", "alerts[0].on", "names no event"},
        {R"([{"name": "a", "url": "http://x/"}, {"name": "a", "url": "http://y/"}])", "alerts[1].name", "twice"},
    };
    for (const auto& b : table) {
        INFO(b.alerts);
        const auto r = parse(config_text(std::string(", \"alerts\": ") + b.alerts));
        CHECK_FALSE(r.value);
        CHECK(has_issue(r, b.path, b.says));
        for (const auto& line : r.issues.formatted()) CHECK(line.find("secret-token") == std::string::npos);
    }
}
