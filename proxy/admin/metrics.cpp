#include "proxy/admin/metrics.hpp"

#include "policies/account_ref.hpp"

#include <algorithm>

namespace creditgate::proxy {
namespace {

void label(std::string& out, std::string_view name, std::string_view value, bool first = false) {
    if (!first) out += ',';
    out += name;
    out += "=\"";
    out += escape_label(value);
    out += '"';
}

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
}

std::string number(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6f", v);
    return buf;
}

// The counter of these labels, made (and its labels copied) the first time they are seen.
template <class Map>
typename Map::mapped_type& at(Map& map, const std::array<std::string_view, std::tuple_size_v<typename Map::key_type>>& labels) {
    auto it = map.find(labels);
    if (it == map.end()) {
        typename Map::key_type key;
        std::copy(labels.begin(), labels.end(), key.begin());
        it = map.emplace(std::move(key), typename Map::mapped_type{}).first;
    }
    return it->second;
}

// The books' gauges, read when scraped.
void render_budgets(std::string& out, const std::vector<policies::budget_view>& budgets) {
    // One gauge per budget: `value` as text; `with_unit` adds the unit label.
    auto per_budget = [&](std::string_view name, std::string_view help, bool with_unit, auto&& value) {
        header(out, name, "gauge", help);
        for (const auto& b : budgets) {
            out += name;
            out += '{';
            label(out, "budget", b.def->id, true);
            if (with_unit) label(out, "unit", policies::shown_unit(b));
            out += "} ";
            out += value(b);
            out += '\n';
        }
    };
    using view = policies::budget_view;
    per_budget("creditgate_credits_frozen", "What calls in flight hold, by budget (calls for concurrency budgets).", false,
               [](const view& b) { return b.frozen.to_string(); });
    per_budget("creditgate_budget_remaining", "limit - used - frozen by budget (whole tokens for rate budgets).", false,
               [](const view& b) { return b.remaining.to_string(); });
    per_budget("creditgate_budget_limit", "Each budget's limit in its unit.", true, [](const view& b) { return b.limit.to_string(); });
    per_budget("creditgate_budget_used", "What each budget's period has used (settled, plus pending rows of a crash).", true,
               [](const view& b) { return b.used.to_string(); });
    per_budget("creditgate_budget_soft_limit_reached", "1 once used + frozen reached a budget's soft_limit this period.", false,
               [](const view& b) { return std::string(b.soft_limit_reached ? "1" : "0"); });
}

void render_accounts(std::string& out, const std::vector<policies::account_view>& accounts) {
    header(out, "creditgate_upstream_balance", "gauge", "Each account's remaining balance at its vendor, as admission uses it.");
    for (const auto& a : accounts) {
        if (!a.remaining) continue;
        out += "creditgate_upstream_balance{";
        label(out, "vendor", a.vendor, true);
        label(out, "account", a.id);
        out += "} " + a.remaining->to_string() + '\n';
    }
    // 0/1 per configured account (not the "unregistered" stand-ins), for alerts.
    auto flag = [&](std::string_view name, std::string_view help, auto&& on) {
        header(out, name, "gauge", help);
        for (const auto& a : accounts) {
            if (a.id == policies::account_ref::unregistered_name) continue;
            out += name;
            out += '{';
            label(out, "vendor", a.vendor, true);
            label(out, "account", a.id);
            out += on(a) ? "} 1\n" : "} 0\n";
        }
    };
    flag("creditgate_account_exhausted", "1 while a vendor account is marked exhausted (its calls are refused).",
         [](const policies::account_view& a) { return a.exhausted; });
    flag("creditgate_account_poll_failing", "1 while the last balance check of an account failed.",
         [](const policies::account_view& a) { return a.poll_error.has_value(); });
}

}  // namespace

std::string escape_label(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (char c : value) {
        if (c == '\\') out += "\\\\";
        else if (c == '"') out += "\\\"";
        else if (c == '\n') out += "\\n";
        else out += c;
    }
    return out;
}

void metrics::record(const exchange_counts& c) {
    const double seconds = std::chrono::duration<double>(c.elapsed).count();
    const auto bucket = std::lower_bound(bucket_bounds.begin(), bucket_bounds.end(), seconds) - bucket_bounds.begin();
    std::lock_guard lock(mutex_);
    ++at(requests_, {c.client, c.team, c.vendor, c.label});
    if (c.cost && !c.vendor.empty()) at(credits_, {c.client, c.team, c.vendor}) += *c.cost;
    if (c.cost_usd && !c.vendor.empty()) at(usd_, {c.client, c.team, c.vendor}) += *c.cost_usd;
    histogram& h = at(durations_, {c.vendor});
    ++h.buckets[static_cast<std::size_t>(bucket)];
    h.sum += seconds;
    ++h.count;
}

void metrics::alert_sent(std::string_view kind, bool ok) {
    std::lock_guard lock(mutex_);
    ++at(alerts_, {kind, ok ? std::string_view("sent") : std::string_view("failed")});
}

void metrics::render_counters(std::string& out) const {
    std::lock_guard lock(mutex_);
    header(out, "creditgate_requests_total", "counter", "Exchanges by client, team, vendor and decision.");
    for (const auto& [k, n] : requests_) {
        out += "creditgate_requests_total{";
        label(out, "client", k[0], true);
        label(out, "team", k[1]);
        label(out, "vendor", k[2]);
        label(out, "decision", k[3]);
        out += "} " + std::to_string(n) + '\n';
    }
    auto by_payer = [&out](std::string_view name, const labelled<3, policies::money>& sums) {
        for (const auto& [k, m] : sums) {
            out += name;
            out += '{';
            label(out, "client", k[0], true);
            label(out, "team", k[1]);
            label(out, "vendor", k[2]);
            out += "} " + m.to_string() + '\n';
        }
    };
    header(out, "creditgate_credits_total", "counter", "Settled cost in each vendor's unit, by client, team and vendor.");
    by_payer("creditgate_credits_total", credits_);
    header(out, "creditgate_cost_usd_total", "counter", "Settled cost in US dollars (vendors with usd_per_unit), by client, team and vendor.");
    by_payer("creditgate_cost_usd_total", usd_);
    header(out, "creditgate_alerts_sent_total", "counter", "Alert webhook attempts by event kind and result (sent or failed).");
    for (const auto& [k, n] : alerts_) {
        out += "creditgate_alerts_sent_total{";
        label(out, "kind", k[0], true);
        label(out, "result", k[1]);
        out += "} " + std::to_string(n) + '\n';
    }
    header(out, "creditgate_request_duration_seconds", "histogram", "Time from a request's head to the end of its exchange, by vendor.");
    for (const auto& [vendor, h] : durations_) {
        std::string labels = "vendor=\"" + escape_label(vendor[0]) + "\"";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.buckets.size(); ++i) {
            cumulative += h.buckets[i];
            out += "creditgate_request_duration_seconds_bucket{" + labels + ",le=\"";
            out += i < bucket_bounds.size() ? number(bucket_bounds[i]) : std::string("+Inf");
            out += "\"} " + std::to_string(cumulative) + '\n';
        }
        out += "creditgate_request_duration_seconds_sum{" + labels + "} " + number(h.sum) + '\n';
        out += "creditgate_request_duration_seconds_count{" + labels + "} " + std::to_string(h.count) + '\n';
    }
}

std::string metrics::render(const policies::metering& books) const {
    std::string out;
    render_counters(out);
    render_budgets(out, books.budgets());
    render_accounts(out, books.accounts());
    return out;
}

}  // namespace creditgate::proxy
