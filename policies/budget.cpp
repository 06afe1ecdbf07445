#include "policies/budget.hpp"

#include <charconv>

namespace creditgate::policies {
namespace {

void read_scope(object_reader& parent, budget_scope& scope) {
    const json* node = parent.get("scope");
    if (!node) return;  // no scope = everyone
    object_reader r(*node, parent.path_of("scope"), parent.issues());
    scope.team = r.string("team");
    scope.client = r.string("client");
    scope.account = r.string("account");
    scope.path_prefix = r.string("path_prefix");
    const int named = int(scope.team.has_value()) + int(scope.client.has_value()) + int(scope.account.has_value());
    if (named > 1) parent.error("scope", "names at most one of team, client and account");
    if (scope.path_prefix && (scope.path_prefix->empty() || scope.path_prefix->front() != '/'))
        r.error("path_prefix", "must start with /");
    r.finish();
}

void read_period(object_reader& parent, period_spec& period) {
    const json* node = parent.get("period");
    if (!node) return;
    const std::string path = parent.path_of("period");
    if (node->is_string()) {
        if (auto unit = parse_period_unit(node->get<std::string>())) period.every = *unit;
        else parent.error("period", "must be \"none\", \"day\", \"week\", \"month\" or {\"every\", \"anchor\"}");
        return;
    }
    object_reader r(*node, path, parent.issues());
    if (!r.valid()) return;
    if (auto every = r.string("every", true)) {
        auto unit = parse_period_unit(*every);
        if (!unit || *unit == period_unit::none) r.error("every", "must be \"day\", \"week\" or \"month\"");
        else period.every = *unit;
    }
    if (auto anchor = r.string("anchor", true)) {
        period.anchor = parse_civil_date(*anchor);
        if (!period.anchor) r.error("anchor", "\"" + *anchor + "\" is not a date YYYY-MM-DD");
    }
    r.finish();
}

}  // namespace

std::string_view to_string(budget_kind kind) {
    switch (kind) {
        case budget_kind::credits: return "credits";
        case budget_kind::money: return "money";
        case budget_kind::concurrency: return "concurrency";
        case budget_kind::rate: return "rate";
    }
    return "credits";
}

std::optional<rate_spec> parse_rate(std::string_view text) {
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    rate_spec rate;
    auto [end, ec] = std::from_chars(text.data(), text.data() + slash, rate.tokens);
    if (ec != std::errc{} || end != text.data() + slash || rate.tokens <= 0) return std::nullopt;
    const std::string_view per = text.substr(slash + 1);
    if (per == "s" || per == "sec") rate.per_seconds = 1;
    else if (per == "min") rate.per_seconds = 60;
    else if (per == "hour" || per == "h") rate.per_seconds = 3600;
    else return std::nullopt;
    return rate;
}

std::optional<budget_def> read_budget(const json& node, const std::string& path, issue_list& issues) {
    const std::size_t before = issues.items().size();
    object_reader r(node, path, issues);
    if (!r.valid()) return std::nullopt;
    budget_def b;
    if (auto id = r.string("id", true)) b.id = *id;
    read_scope(r, b.scope);
    if (auto vendor = r.string("vendor", true)) b.vendor = *vendor;
    if (auto unit = r.string("unit")) b.unit = *unit;

    const bool has_limit = r.has("limit");
    const bool has_concurrent = r.has("max_concurrent");
    const bool has_rate = r.has("rate");
    const int kinds = int(has_limit) + int(has_concurrent) + int(has_rate);
    if (kinds != 1) {
        r.error("limit", kinds == 0 ? "a budget needs one of limit, max_concurrent or rate"
                                    : "a budget has exactly one of limit, max_concurrent or rate");
    }
    if (has_limit) {
        b.kind = b.unit == "usd" ? budget_kind::money : budget_kind::credits;
        if (auto limit = r.amount("limit")) {
            if (limit->is_negative()) r.error("limit", "must not be negative");
            b.limit = *limit;
        }
        if (!b.unit.empty() && b.unit != "usd") r.error("unit", "must be \"usd\" (or left out for the vendor's unit)");
        if (b.vendor == "*" && b.unit != "usd") r.error("unit", "a budget over every vendor (\"*\") counts money: set \"unit\": \"usd\"");
    } else {
        r.get("limit");
        if (r.has("unit")) r.error("unit", "only credit and money budgets have a unit");
    }
    if (has_concurrent) {
        b.kind = budget_kind::concurrency;
        if (auto n = r.integer("max_concurrent", 1, 1'000'000)) b.max_concurrent = *n;
    } else {
        r.get("max_concurrent");
    }
    if (has_rate) {
        b.kind = budget_kind::rate;
        if (auto text = r.string("rate")) {
            if (auto rate = parse_rate(*text)) b.rate = *rate;
            else r.error("rate", "\"" + *text + "\" is not a rate like \"300/min\" (N/s, N/min, N/hour)");
        }
    } else {
        r.get("rate");
    }
    read_period(r, b.period);
    if (r.has("period") && (has_concurrent || has_rate)) r.error("period", "only credit and money budgets have a period");

    if (auto action = r.string("on_exceed")) {
        if (*action == "reject") b.on_exceed = exceed_action::reject;
        else if (*action == "queue") b.on_exceed = exceed_action::queue;
        else r.error("on_exceed", "must be \"reject\" or \"queue\"");
    }
    if (auto ms = r.integer("queue_timeout_ms", 1, 3'600'000)) b.queue_timeout_ms = *ms;
    if (auto mode = r.string("mode")) {
        if (*mode == "enforce") b.mode = budget_mode::enforce;
        else if (*mode == "shadow") b.mode = budget_mode::shadow;
        else r.error("mode", "must be \"enforce\" or \"shadow\"");
    }
    if (auto soft = r.amount("soft_limit")) {
        if (*soft <= money{} || *soft > money::units(1)) r.error("soft_limit", "must be a fraction above 0 and at most 1");
        else if (!has_limit) r.error("soft_limit", "only credit and money budgets have a soft limit");
        b.soft_limit = soft;
    }
    r.finish();
    if (issues.items().size() != before) return std::nullopt;
    return b;
}

}  // namespace creditgate::policies
