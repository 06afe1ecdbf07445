#include "policies/alerts.hpp"

#include "policies/json_amount.hpp"

#include <nlohmann/json.hpp>

namespace creditgate::policies {
namespace {

constexpr std::string_view kind_names[] = {"soft_limit", "budget_exhausted", "account_exhausted", "poll_error", "forecast"};

alert_event budget_event(alert_kind kind, const budget_view& b, unix_seconds now) {
    alert_event e;
    e.kind = kind;
    e.budget = b.def->id;
    e.unit = b.unit;
    e.used = b.used;
    e.frozen = b.frozen;
    e.limit = b.limit;
    if (b.window.end != INT64_MAX) e.period_end = b.window.end;
    e.at = now;
    e.key = std::string(to_string(kind)) + "|" + b.def->id + "|" + std::to_string(b.window.start);
    return e;
}

alert_event account_event(alert_kind kind, const account_view& a, unix_seconds since, unix_seconds now) {
    alert_event e;
    e.kind = kind;
    e.account = a.id;
    e.at = now;
    e.key = std::string(to_string(kind)) + "|" + a.id + "|" + std::to_string(since);
    return e;
}

}  // namespace

std::string_view to_string(alert_kind kind) { return kind_names[static_cast<std::size_t>(kind)]; }

std::optional<alert_kind> parse_alert_kind(std::string_view name) {
    for (auto k : all_alert_kinds)
        if (to_string(k) == name) return k;
    return std::nullopt;
}

std::vector<alert_event> detect_alerts(const std::vector<budget_view>& budgets, const std::vector<account_view>& accounts,
                                       unix_seconds now) {
    std::vector<alert_event> out;
    for (const auto& b : budgets) {
        const bool metered = b.def->kind == budget_kind::credits || b.def->kind == budget_kind::money;
        if (!metered) continue;
        if (b.soft_limit_reached) out.push_back(budget_event(alert_kind::soft_limit, b, now));
        if (b.refused > 0) out.push_back(budget_event(alert_kind::budget_exhausted, b, now));
        // A forecast that it runs out before the period ends (forecast_exhausted_at is null
        // otherwise); one already out has said so as budget_exhausted, or will.
        if (b.forecast_exhausted_at && *b.forecast_exhausted_at > now) {
            alert_event e = budget_event(alert_kind::forecast, b, now);
            e.exhausted_at = b.forecast_exhausted_at;
            out.push_back(std::move(e));
        }
    }
    for (const auto& a : accounts) {
        if (a.exhausted) out.push_back(account_event(alert_kind::account_exhausted, a, a.exhausted_since, now));
        if (a.poll_failures >= poll_failures_to_alert && a.poll_error) {
            alert_event e = account_event(alert_kind::poll_error, a, a.failing_since, now);
            e.detail = *a.poll_error;
            out.push_back(std::move(e));
        }
    }
    return out;
}

std::string alert_text(const alert_event& e) {
    const std::string ends = e.period_end ? " (the period ends " + format_utc(*e.period_end) + ")" : std::string();
    std::string figures;
    if (e.used && e.limit) {
        figures = e.used->to_string();
        if (e.frozen && e.frozen->micros() != 0) figures.append(" (and ").append(e.frozen->to_string()).append(" frozen)");
        figures.append(" of ").append(e.limit->to_string()).append(" ").append(e.unit);
    }
    switch (e.kind) {
        case alert_kind::soft_limit: return "creditgate: budget " + e.budget + " passed its soft limit: " + figures + " used" + ends;
        case alert_kind::budget_exhausted:
            return "creditgate: budget " + e.budget + " is exhausted (" + figures + " used) and refuses calls" + ends;
        case alert_kind::account_exhausted:
            return "creditgate: vendor account " + e.account + " is out of credits; its calls are refused until it is topped up";
        case alert_kind::poll_error:
            return "creditgate: balance checks of account " + e.account + " failed " + std::to_string(poll_failures_to_alert) +
                   " times in a row: " + e.detail;
        case alert_kind::forecast:
            return "creditgate: budget " + e.budget + " runs out at " + format_utc(*e.exhausted_at) + " at its recent rate (" +
                   figures + " used)" + ends;
    }
    return "creditgate: alert";
}

std::string alert_json(const alert_event& e) {
    using nlohmann::json;
    json out{{"event", to_string(e.kind)},
             {"budget", e.budget.empty() ? json(nullptr) : json(e.budget)},
             {"account", e.account.empty() ? json(nullptr) : json(e.account)},
             {"used", e.used ? amount_json(*e.used) : json(nullptr)},
             {"frozen", e.frozen ? amount_json(*e.frozen) : json(nullptr)},
             {"limit", e.limit ? amount_json(*e.limit) : json(nullptr)},
             {"unit", e.unit.empty() ? json(nullptr) : json(e.unit)},
             {"period_end", e.period_end ? json(format_utc(*e.period_end)) : json(nullptr)},
             {"at", format_utc(e.at)},
             {"message", alert_text(e)}};
    if (e.exhausted_at) out["exhausted_at"] = format_utc(*e.exhausted_at);
    if (!e.detail.empty()) out["error"] = e.detail;
    return dump_exact(out);
}

std::string alert_slack_json(const alert_event& e) { return nlohmann::json{{"text", alert_text(e)}}.dump(); }

}  // namespace creditgate::policies
