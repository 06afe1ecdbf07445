#pragma once
// metrics: the counters behind GET /metrics, in the Prometheus text format (0.0.4). Exchanges
// are counted by the workers as they end; budget and balance gauges are read from the books
// when scraped.

#include "policies/metering.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <optional>
#include <mutex>
#include <string>
#include <string_view>

namespace creditgate::proxy {

// One finished exchange as the counters see it (views: valid during record()).
struct exchange_counts {
    std::string_view client, team, vendor;
    std::string_view label;  // the books' decision, or how the exchange ended ("forwarded", a refusal code, ...)
    std::optional<policies::money> cost;  // metered calls: the settled cost
    std::optional<policies::money> cost_usd;  // and in dollars, when the vendor has usd_per_unit
    std::chrono::steady_clock::duration elapsed{};
};

class metrics {
public:
    void record(const exchange_counts& c);
    // One delivery attempt of an alert (creditgate_alerts_sent_total{kind,result}).
    void alert_sent(std::string_view kind, bool ok);
    std::string render(const policies::metering& books) const;

private:
    void render_counters(std::string& out) const;  // what record() and alert_sent() counted

    static constexpr std::array<double, 13> bucket_bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

    // Label tuples compare with tuples of views: counting an exchange copies no string unless
    // its labels are new.
    struct labels_less {
        using is_transparent = void;
        template <class A, class B>
        bool operator()(const A& a, const B& b) const {
            return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(),
                                                [](std::string_view x, std::string_view y) { return x < y; });
        }
    };
    template <std::size_t N, class Value>
    using labelled = std::map<std::array<std::string, N>, Value, labels_less>;

    mutable std::mutex mutex_;
    labelled<4, std::uint64_t> requests_;     // client, team, vendor, decision
    labelled<3, policies::money> credits_;    // client, team, vendor
    labelled<3, policies::money> usd_;        // client, team, vendor
    struct histogram {
        std::array<std::uint64_t, bucket_bounds.size() + 1> buckets{};  // the last one is +Inf
        double sum = 0;
        std::uint64_t count = 0;
    };
    labelled<1, histogram> durations_;
    labelled<2, std::uint64_t> alerts_;  // kind, result  // by vendor ("" for traffic that is no vendor's)
};

// The label text of Prometheus: backslash, double quote and newline escaped.
std::string escape_label(std::string_view value);

}  // namespace creditgate::proxy
