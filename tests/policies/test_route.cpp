// Routing as a value (issue 17): SPEC §5's rules, one row each, no sockets.
#include "policies/route.hpp"

#include <catch2/catch.hpp>

using namespace creditgate::policies;

namespace {

struct routes_fixture {
    std::vector<vendor_profile> vendors;
    vendor_routes routes;
    routes_fixture() : vendors(make()), routes(vendors, {"pypi.org", "*.githubusercontent.com"}) {}
    static std::vector<vendor_profile> make() {
        vendor_profile scraperapi;
        scraperapi.name = "scraperapi";
        scraperapi.hosts = {"api.scraperapi.com"};
        vendor_profile zenrows;
        zenrows.name = "zenrows";
        zenrows.hosts = {"*.zenrows.com"};
        return {scraperapi, zenrows};
    }
    route_config config(bool mitm = true, bool draining = false) const {
        return {&routes, mitm, [](std::string_view host, std::uint16_t port) { return host == "api.scraperapi.com" && port == 8443; },
                draining};
    }
};

request_head_facts head(std::string_view method, std::string_view target, std::string_view host = "") {
    request_head_facts h;
    h.method = method;
    h.target = target;
    h.host = host;
    h.host_fields = host.empty() ? 0 : 1;
    h.proxy_authorization_fields = 1;
    return h;
}

std::string describe(const route& r) {
    switch (r.what) {
        case route::kind::refuse: return std::string("refuse ") + std::string(to_string(r.code)) + (r.close ? " close" : "");
        case route::kind::meter: return "meter " + r.vendor->name + " " + r.where.to_string() + " " + r.target.origin_form;
        case route::kind::intercept: return "intercept " + r.vendor->name + " " + r.where.to_string();
        case route::kind::passthrough: return "passthrough " + r.where.to_string();
    }
    return "?";
}

}  // namespace

TEST_CASE("routing on a plain connection follows SPEC 5", "[route]") {
    routes_fixture f;
    struct row { const char* method; const char* target; const char* expected; };
    const row rows[] = {
        {"GET", "http://api.scraperapi.com/?url=x", "meter scraperapi api.scraperapi.com:80 /?url=x"},
        {"GET", "http://API.ScraperAPI.com./p#frag", "meter scraperapi api.scraperapi.com:80 /p"},  // case, trailing dot, fragment
        {"GET", "https://api.scraperapi.com:443/", "meter scraperapi api.scraperapi.com:443 /"},
        {"GET", "http://eu.zenrows.com/v1/", "meter zenrows eu.zenrows.com:80 /v1/"},            // a glob
        {"GET", "http://zenrows.com/", "refuse destination_not_allowed"},                      // *.x is not x
        {"GET", "http://example.com/", "refuse destination_not_allowed"},
        {"GET", "http://127.0.0.1/", "refuse destination_not_allowed"},                        // an IP literal
        {"GET", "http://[::1]:8080/", "refuse destination_not_allowed"},
        {"GET", "/origin-form", "refuse bad_request"},
        {"GET", "ftp://api.scraperapi.com/", "refuse bad_request"},
        {"GET", "http://user:pw@api.scraperapi.com/", "refuse bad_request"},                   // userinfo
        {"CONNECT", "api.scraperapi.com:443", "intercept scraperapi api.scraperapi.com:443"},
        {"CONNECT", "API.scraperapi.COM.:443", "intercept scraperapi api.scraperapi.com:443"},
        {"CONNECT", "api.scraperapi.com:22", "refuse destination_not_allowed"},                // not 443
        {"CONNECT", "api.scraperapi.com:8443", "intercept scraperapi api.scraperapi.com:8443"}, // its resolve port
        {"CONNECT", "x.zenrows.com:443", "intercept zenrows x.zenrows.com:443"},
        {"CONNECT", "pypi.org:443", "passthrough pypi.org:443"},
        {"CONNECT", "raw.githubusercontent.com:443", "passthrough raw.githubusercontent.com:443"},
        {"CONNECT", "example.com:443", "refuse destination_not_allowed"},
        {"CONNECT", "1.2.3.4:443", "refuse destination_not_allowed"},
        {"CONNECT", "api.scraperapi.com", "refuse bad_request"},                               // no port
        {"CONNECT", "api.scraperapi.com:0", "refuse bad_request"},
    };
    for (const auto& r : rows) {
        INFO(r.method << " " << r.target);
        CHECK(describe(decide(head(r.method, r.target, "x"), credentials::valid, f.config())) == r.expected);
    }
}

TEST_CASE("routing refuses before it routes: identity, duplicates, draining, interception off", "[route]") {
    routes_fixture f;
    const auto get = head("GET", "http://api.scraperapi.com/", "api.scraperapi.com");
    CHECK(describe(decide(get, credentials::missing, f.config())) == "refuse proxy_auth_required");
    CHECK(decide(get, credentials::missing, f.config()).message.find("required") != std::string::npos);
    CHECK(decide(get, credentials::wrong, f.config()).message == "wrong proxy credentials");
    // Strangers learn nothing about destinations: a 407 even for a host that is not a vendor.
    CHECK(describe(decide(head("GET", "http://example.com/"), credentials::missing, f.config())) == "refuse proxy_auth_required");
    auto two_hosts = get;
    two_hosts.host_fields = 2;
    CHECK(describe(decide(two_hosts, credentials::valid, f.config())) == "refuse bad_request");
    CHECK(describe(decide(two_hosts, credentials::missing, f.config())) == "refuse bad_request");  // whatever their values
    auto two_auth = get;
    two_auth.proxy_authorization_fields = 2;
    CHECK(describe(decide(two_auth, credentials::valid, f.config())) == "refuse bad_request");
    CHECK(describe(decide(get, credentials::valid, f.config(true, true))) == "refuse shutting_down");
    CHECK(describe(decide(head("CONNECT", "api.scraperapi.com:443"), credentials::valid, f.config(false))) ==
          "refuse mitm_disabled");
    CHECK(describe(decide(head("CONNECT", "pypi.org:443"), credentials::valid, f.config(false))) == "passthrough pypi.org:443");
    auto upgrade = get;
    upgrade.upgrade = true;
    CHECK(describe(decide(upgrade, credentials::valid, f.config())) == "refuse upgrade_not_supported");
    auto coded = get;
    coded.transfer_encoding = true;
    CHECK(describe(decide(coded, credentials::valid, f.config())) == "refuse bad_request close");
    coded.chunked_only = true;
    CHECK(describe(decide(coded, credentials::valid, f.config())) == "meter scraperapi api.scraperapi.com:80 /");
    // A refusal still says where the request went (the access log shows host and path).
    const auto refused = decide(head("GET", "http://example.com/p?q"), credentials::valid, f.config());
    CHECK(refused.where.host == "example.com");
    CHECK(refused.target.path() == "/p");
}

TEST_CASE("routing inside an intercepted CONNECT keeps to its host", "[route]") {
    routes_fixture f;
    const auto tunnel = *parse_connect_target("api.scraperapi.com:443");
    struct row { const char* method; const char* target; const char* host; const char* expected; };
    const row rows[] = {
        {"GET", "/?url=x", "api.scraperapi.com", "meter scraperapi api.scraperapi.com:443 /?url=x"},
        {"GET", "/", "API.ScraperAPI.com.:443", "meter scraperapi api.scraperapi.com:443 /"},
        {"GET", "/", "", "meter scraperapi api.scraperapi.com:443 /"},                 // HTTP/1.0: the tunnel says where
        {"GET", "/", "api.scraperapi.com:8443", "refuse misdirected_request"},
        {"GET", "/", "evil.example", "refuse misdirected_request"},
        {"GET", "https://api.scraperapi.com/x", "api.scraperapi.com", "meter scraperapi api.scraperapi.com:443 /x"},
        {"GET", "https://other.example/x", "other.example", "refuse misdirected_request"},
        {"CONNECT", "api.scraperapi.com:443", "api.scraperapi.com", "refuse bad_request"},
        {"GET", "*", "api.scraperapi.com", "refuse bad_request"},
    };
    for (const auto& r : rows) {
        INFO(r.method << " " << r.target << " Host: " << r.host);
        CHECK(describe(decide_inside(head(r.method, r.target, r.host), credentials::valid, tunnel, f.config())) == r.expected);
    }
    auto two_hosts = head("GET", "/", "api.scraperapi.com");
    two_hosts.host_fields = 2;
    CHECK(describe(decide_inside(two_hosts, credentials::valid, tunnel, f.config())) == "refuse bad_request");
    // Credentials that no longer hold (a reload since the CONNECT): 407, and the tunnel closes.
    for (const auto who : {credentials::wrong, credentials::missing}) {
        const route r = decide_inside(head("GET", "/?url=x", "api.scraperapi.com"), who, tunnel, f.config());
        CHECK(describe(r) == "refuse proxy_auth_required close");
    }
}
