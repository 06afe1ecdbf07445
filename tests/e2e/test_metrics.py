#!/usr/bin/env python3
"""GET /metrics: the series of SPEC §8 in the Prometheus text format, read back with Debian's
prometheus_client parser, with label values escaped."""

import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

ODD_CLIENT = 'we"ird\\id'  # a quote and a backslash in a label value


class Metrics(harness.VendorTestCase):
    def test_metrics_parse_and_count(self):
        self.add_account("scraperapi", "SA-KEY")
        self.add_account("neuji", "NJ-KEY")
        clients = [{"id": "eu-1", "team": "growth", "secret": "s3cret-eu"},
                   {"id": ODD_CLIENT, "team": "growth", "secret": "odd-secret"}]
        config = self.vendor_config(
            clients=clients,
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"},
                      {"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY"}],
            budgets=[{"id": "sa-budget", "vendor": "scraperapi", "limit": 12, "soft_limit": 0.5},
                     {"id": "nj-budget", "vendor": "neuji", "limit": 1000}])
        proxy = self.start_proxy(config)
        # The launch poll reads Neuji's balance first, so its call settles by the balance drop.
        self.wait_until(lambda: any(a["id"] == "nj" and a["source"] == "poll"
                                    for a in self.admin_get(proxy, "/api/v1/accounts")["accounts"]), what="the first poll")
        s = requests.Session()
        s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        self.addCleanup(s.close)
        for _ in range(3):  # 5 + 5 allowed, then 2 left: refused
            s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10)
        s.get("http://api.neuji.com/v1/search?fanout=2", headers={"Authorization": "Bearer NJ-KEY"}, timeout=10)
        odd = requests.Session()
        odd.headers["Proxy-Authorization"] = harness.basic(ODD_CLIENT, "odd-secret")
        odd.proxies = {"http": f"http://{proxy.proxy_addr}"}
        self.addCleanup(odd.close)
        self.assertEqual(odd.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10).status_code, 402)
        requests.get("http://api.scraperapi.com/", proxies={"http": f"http://{proxy.proxy_addr}"}, timeout=10)  # 407

        r = requests.get(f"http://{proxy.admin_addr}/metrics", timeout=5)
        self.assertEqual(r.status_code, 401)
        r = requests.get(f"http://{proxy.admin_addr}/metrics", headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 200)
        self.assertTrue(r.headers["Content-Type"].startswith("text/plain; version=0.0.4"))
        families = {f.name: f for f in text_string_to_metric_families(r.text)}

        def value(family, sample_name=None, **labels):
            for sample in families[family].samples:
                if (sample_name is None or sample.name == sample_name) and all(sample.labels.get(k) == v for k, v in labels.items()):
                    return sample.value
            raise KeyError((family, labels))

        self.assertEqual(value("creditgate_requests", client="eu-1", vendor="scraperapi", decision="allowed"), 2)
        self.assertEqual(value("creditgate_requests", client="eu-1", vendor="scraperapi", decision="rejected"), 1)
        self.assertEqual(value("creditgate_requests", client=ODD_CLIENT, vendor="scraperapi", decision="rejected"), 1)
        self.assertEqual(value("creditgate_requests", client="", decision="proxy_auth_required"), 1)
        self.assertEqual(value("creditgate_credits", client="eu-1", team="growth", vendor="scraperapi"), 10)
        self.assertEqual(value("creditgate_credits", client="eu-1", vendor="neuji"), 4)  # fan-out 2: the balance dropped by 4
        self.assertEqual(value("creditgate_credits_frozen", budget="sa-budget"), 0)
        self.assertEqual(value("creditgate_budget_remaining", budget="sa-budget"), 2)
        self.assertEqual(value("creditgate_upstream_balance", vendor="neuji", account="nj"), 100000 - 4)
        # The latency histogram by vendor: 4 ScraperAPI exchanges, 1 Neuji, the 407 under vendor="".
        def count(vendor):
            return value("creditgate_request_duration_seconds", "creditgate_request_duration_seconds_count", vendor=vendor)
        self.assertEqual((count("scraperapi"), count("neuji"), count("")), (4, 1, 1))
        self.assertEqual(value("creditgate_request_duration_seconds", "creditgate_request_duration_seconds_bucket",
                               vendor="scraperapi", le="+Inf"), 4)
        # Dollars: 10 credits × $0.00049 and 4 cents × $0.01.
        self.assertEqual(Decimal(str(value("creditgate_cost_usd", client="eu-1", vendor="scraperapi"))), Decimal("0.0049"))
        self.assertEqual(Decimal(str(value("creditgate_cost_usd", client="eu-1", vendor="neuji"))), Decimal("0.04"))
        self.assertEqual(value("creditgate_budget_limit", budget="sa-budget", unit="credits"), 12)
        self.assertEqual(value("creditgate_budget_used", budget="sa-budget", unit="credits"), 10)
        self.assertEqual(value("creditgate_budget_soft_limit_reached", budget="sa-budget"), 1)
        self.assertEqual(value("creditgate_budget_soft_limit_reached", budget="nj-budget"), 0)
        self.assertEqual(value("creditgate_budget_limit", budget="nj-budget", unit="cents"), 1000)
        self.assertNotIn("SA-KEY", r.text)
        self.assertNotIn("odd-secret", r.text)


if __name__ == "__main__":
    harness.main()
