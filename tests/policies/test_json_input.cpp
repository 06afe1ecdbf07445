#include "policies/json_input.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace creditgate::policies;

namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
}

}  // namespace

TEST_CASE("documents allow comments and keep float text", "[json]") {
    issue_list issues("f.json");
    const json doc = parse_json_document(R"({
        // a line comment
        "limit": 25.10, /* a block comment */ "count": 3, "s": "x"
    })", fake_env({}), issues);
    REQUIRE(issues.empty());
    CHECK(is_decimal(doc["limit"]));
    CHECK(doc["count"].is_number_integer());
    auto amount = read_amount(doc["limit"], "limit", issues);
    REQUIRE(amount);
    CHECK(amount->micros() == 25'100'000);
}

TEST_CASE("environment expansion", "[json]") {
    const auto env = fake_env({{"KEY", "abc"}, {"EMPTY", ""}});
    std::string error;
    struct row { const char* in; const char* out; };
    const row rows[] = {{"${KEY}", "abc"},        {"x-${KEY}-y", "x-abc-y"}, {"${MISSING:-dflt}", "dflt"},
                        {"${EMPTY:-dflt}", ""},   {"${MISSING:-}", ""},      {"plain $ sign", "plain $ sign"},
                        {"${KEY}${KEY}", "abcabc"}};
    for (const auto& r : rows) {
        INFO(r.in);
        auto s = expand_environment(r.in, env, error);
        REQUIRE(s);
        CHECK(*s == r.out);
    }
    CHECK_FALSE(expand_environment("${MISSING}", env, error));
    CHECK(error.find("MISSING") != std::string::npos);
    CHECK_FALSE(expand_environment("${1BAD}", env, error));
    CHECK_FALSE(expand_environment("${OPEN", env, error));
}

TEST_CASE("an unset variable is reported at its JSON path", "[json]") {
    issue_list issues("cfg.json");
    parse_json_document(R"({"clients": [{"id": "a"}, {"secret": "${NOPE}"}]})", fake_env({}), issues);
    REQUIRE(issues.items().size() == 1);
    CHECK(issues.items()[0].path == "clients[1].secret");
    CHECK(issues.formatted()[0].rfind("cfg.json: clients[1].secret: ", 0) == 0);
}

TEST_CASE("syntax errors name line and column", "[json]") {
    issue_list issues("cfg.json");
    const json doc = parse_json_document("{\n  \"a\": 1,\n  \"b\": ]\n}", fake_env({}), issues);
    CHECK(doc.is_null());
    REQUIRE(issues.items().size() == 1);
    CHECK(issues.items()[0].message.find("line 3") != std::string::npos);
}

TEST_CASE("object_reader checks types, ranges and unknown keys", "[json]") {
    issue_list issues("cfg.json");
    const json doc = parse_json_document(
        R"({"name": 5, "n": 2.5, "big": 100, "flag": "yes", "amount": "1.2345678", "list": ["a", 1], "extra": 1})",
        fake_env({}), issues);
    REQUIRE(issues.empty());
    object_reader r(doc, "root", issues);
    CHECK_FALSE(r.string("name"));
    CHECK_FALSE(r.integer("n", 0, 10));
    CHECK_FALSE(r.integer("big", 0, 10));
    CHECK_FALSE(r.boolean("flag"));
    CHECK_FALSE(r.amount("amount"));
    CHECK_FALSE(r.string_list("list"));
    CHECK_FALSE(r.string("required", true));
    r.finish();
    std::map<std::string, std::string> by_path;
    for (const auto& i : issues.items()) by_path[i.path] = i.message;
    CHECK(by_path.at("root.name") == "expected a string, got number");
    CHECK(by_path.at("root.n") == "expected a whole number, got number");
    CHECK(by_path.at("root.big").find("between 0 and 10") != std::string::npos);
    CHECK(by_path.count("root.flag"));
    CHECK(by_path.count("root.amount"));
    CHECK(by_path.count("root.list[1]"));
    CHECK(by_path.at("root.required") == "is required");
    CHECK(by_path.at("root.extra") == "unknown key");
}
