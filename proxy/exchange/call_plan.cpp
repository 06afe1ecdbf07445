#include "proxy/exchange/call_plan.hpp"

namespace creditgate::proxy {

policies::header_lookup lookup_in(const flat_fields& fields) {
    return [&fields](std::string_view name) -> std::optional<std::string_view> {
        auto it = fields.find(name);
        if (it == fields.end()) return std::nullopt;
        return it->value();
    };
}

call_plan plan_call(const policies::metering& books, bool refuse_unregistered, const policies::vendor_profile& vendor,
                    const policies::absolute_target& target, const flat_fields& request_fields) {
    call_plan plan;
    plan.account = policies::account_ref::unregistered(vendor.name);
    const std::string_view origin = target.origin_form;
    if (auto q = origin.find('?'); q != std::string_view::npos) plan.query = policies::parse_query(origin.substr(q + 1));
    const auto key = policies::find_api_key(vendor, plan.query, lookup_in(request_fields));
    if (key) {
        if (const auto* account = books.account_for_key(vendor, *key)) plan.account = policies::account_ref::named(account->id);
        else if (refuse_unregistered)
            plan.refused = make_refusal(policies::refusal_code::unregistered_key,
                                        "this API key belongs to no account configured for " + vendor.name);
    } else if (const auto* account = books.injecting_account(vendor)) {
        plan.account = policies::account_ref::named(account->id);
        plan.injected_key = account->api_key;
    }
    return plan;
}

std::string target_with_key(const policies::absolute_target& target, const policies::vendor_profile& vendor,
                            const call_plan& plan) {
    if (!plan.injected_key || vendor.auth.empty() || vendor.auth.front().where != policies::auth_source::kind::query)
        return target.origin_form;
    std::string out = target.origin_form;
    out += out.find('?') == std::string::npos ? '?' : '&';
    out += policies::percent_encode(vendor.auth.front().name);
    out += '=';
    out += policies::percent_encode(*plan.injected_key);
    return out;
}

}  // namespace creditgate::proxy
