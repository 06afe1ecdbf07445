#!/usr/bin/env python3
"""config/grafana-dashboard.json and config/prometheus-alerts.yml against the real /metrics:
both parse, every creditgate_* metric they name is one the proxy exports, the rules pass
`promtool check rules`, and `promtool test rules` shows the 80% alert firing at 85% and not at 50%."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(HERE, "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

DASHBOARD = os.path.join(ROOT, "config", "grafana-dashboard.json")
ALERTS = os.path.join(ROOT, "config", "prometheus-alerts.yml")
PROMTOOL = shutil.which("promtool")  # Debian's prometheus package; install-deps.sh test installs it


def names_in(text):
    """creditgate_* metric names in PromQL, histogram series mapped to their family."""
    return {re.sub(r"_(bucket|sum|count)$", "", n) for n in re.findall(r"\bcreditgate_[a-z_]+\b", text)}


class Dashboards(harness.VendorTestCase):
    def exported(self):
        self.add_account("scraperapi", "SA-KEY")
        config = self.vendor_config(
            vendors=["scraperapi"],
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "sa-budget", "vendor": "scraperapi", "limit": 100, "soft_limit": 0.5},
                     {"id": "eu-conc", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "max_concurrent": 2}])
        proxy = self.start_proxy(config)
        s = requests.Session()
        s.trust_env = False
        s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        self.addCleanup(s.close)
        self.assertEqual(s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10).status_code, 200)
        text = requests.get(f"http://{proxy.admin_addr}/metrics", headers={"Authorization": "Bearer test-admin-token"}, timeout=5).text
        return {re.sub(r"_(bucket|sum|count)$", "", line.split("{")[0].split(" ")[0])
                for line in text.splitlines() if line.startswith("creditgate_")}

    def test_dashboard_and_rules_name_only_exported_metrics(self):
        exported = self.exported()
        with open(DASHBOARD) as f:
            dashboard = json.load(f)
        exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
        exprs += [v.get("definition", "") for v in dashboard["templating"]["list"]]
        self.assertGreaterEqual(len(dashboard["panels"]), 8)
        dashboard_names = names_in("\n".join(exprs))
        self.assertTrue(dashboard_names)
        self.assertEqual(dashboard_names - exported, set(), "metrics the dashboard names but /metrics lacks")
        # The dashboard covers what SPEC §8 asks a dashboard for.
        for wanted in ("creditgate_budget_limit", "creditgate_budget_used", "creditgate_budget_soft_limit_reached",
                       "creditgate_cost_usd_total", "creditgate_request_duration_seconds"):
            self.assertIn(wanted, dashboard_names)
        with open(ALERTS) as f:
            rules = f.read()
        self.assertEqual(names_in(rules) - exported, set(), "metrics the rules name but /metrics lacks")

    def test_rules_check_and_fire(self):
        if not PROMTOOL:
            self.skipTest("promtool not installed (Debian package prometheus)")
        check = subprocess.run([PROMTOOL, "check", "rules", ALERTS], capture_output=True, text=True, timeout=60)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
        folder = tempfile.mkdtemp(dir=self.tmp)
        shutil.copy(ALERTS, os.path.join(folder, "alerts.yml"))
        # One budget at 85% (fires after its 5 minutes), one at 50% (never), an exhausted account.
        cases = """
rule_files: [alerts.yml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'creditgate_budget_limit{budget="hot",unit="credits"}'
        values: '100x10'
      - series: 'creditgate_budget_remaining{budget="hot"}'
        values: '15x10'
      - series: 'creditgate_budget_limit{budget="calm",unit="credits"}'
        values: '100x10'
      - series: 'creditgate_budget_remaining{budget="calm"}'
        values: '50x10'
      - series: 'creditgate_budget_limit{budget="slots",unit="calls"}'
        values: '5x10'
      - series: 'creditgate_budget_remaining{budget="slots"}'
        values: '0x10'
      - series: 'creditgate_account_exhausted{vendor="scraperapi",account="sa"}'
        values: '1x10'
    alert_rule_test:
      - eval_time: 3m
        alertname: CreditgateBudget80Percent
        exp_alerts: []
      - eval_time: 6m
        alertname: CreditgateBudget80Percent
        exp_alerts:
          - exp_labels: {severity: warning, budget: hot}
            exp_annotations:
              summary: "Budget hot is 85% spent"
              description: "creditgate refuses (or queues) calls past the limit; raise it or slow the jobs that spend it."
      - eval_time: 6m
        alertname: CreditgateBudgetExhausted
        exp_alerts: []
      - eval_time: 2m
        alertname: CreditgateAccountExhausted
        exp_alerts:
          - exp_labels: {severity: critical, vendor: scraperapi, account: sa}
            exp_annotations:
              summary: "Vendor account sa (scraperapi) is out of credits"
              description: "Top it up at the vendor, then POST /api/v1/accounts/sa/reset."
"""
        with open(os.path.join(folder, "cases.yml"), "w") as f:
            f.write(cases)
        run = subprocess.run([PROMTOOL, "test", "rules", "cases.yml"], cwd=folder, capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


if __name__ == "__main__":
    harness.main()
