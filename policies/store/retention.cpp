#include "policies/store/retention.hpp"

namespace creditgate::policies {

retention_plan plan_retention(civil_date today, std::int64_t retention_days, const std::optional<civil_date>& asked,
                              const std::vector<budget_def>& budgets, unix_seconds now) {
    retention_plan plan;
    if (asked) {
        plan.before = asked;
    } else if (retention_days <= 0) {
        plan.note = "storage.retention_days is 0: every row is kept";
        return plan;
    } else {
        plan.before = civil_from_days(days_from_civil(today) - retention_days);
    }
    plan.note = "rows admitted before " + to_string(*plan.before);
    for (const auto& b : budgets) {
        if (!b.scope.path_prefix || (b.kind != budget_kind::credits && b.kind != budget_kind::money)) continue;
        const period_window w = window_at(b.period, now);
        const std::int64_t start_day = w.start <= 0 ? 0 : w.start / 86'400;
        if (start_day < days_from_civil(*plan.before)) {
            plan.before = civil_from_days(start_day);
            plan.note = "rows admitted before " + to_string(*plan.before) + " (budgets[\"" + b.id +
                        "\"] counts raw rows by path_prefix from then on)";
        }
    }
    if (days_from_civil(*plan.before) <= 0) {
        plan.note = "nothing to prune: " + plan.note;
        plan.before.reset();
    }
    return plan;
}

}  // namespace creditgate::policies
