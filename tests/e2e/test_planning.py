#!/usr/bin/env python3
"""Planning before the money runs out (SPEC §5, §8, §12), through the real binary: refusals say
when the budget resets, X-Creditgate-Max-Cost caps a call before anything is reserved, usage
rows carry their unit ("mixed" across vendors), group by hour, and CSV comes as a download."""

import datetime
import os
import sys
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

SA_CALL = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/"


def next_month_start(today):
    return datetime.date(today.year + (today.month == 12), today.month % 12 + 1, 1)


class Planning(harness.VendorTestCase):
    def session(self, proxy, user="eu-1", secret="s3cret-eu"):
        s = requests.Session()
        s.trust_env = False
        s.proxies = {"http": proxy.proxy_url(user, secret)}
        self.addCleanup(s.close)
        return s

    def test_refusals_say_when_the_budget_resets(self):
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start_proxy(self.vendor_config(
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "monthly", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "limit": 5, "period": "month"},
                     {"id": "lifetime", "scope": {"client": "us-1"}, "vendor": "scraperapi", "limit": 5}]))
        eu, us = self.session(proxy), self.session(proxy, "us-1", "s3cret-us")
        self.assertEqual(eu.get(SA_CALL, timeout=10).status_code, 200)
        refused = eu.get(SA_CALL, timeout=10)
        self.assertEqual(refused.status_code, 402)
        error = refused.json()["error"]
        today = datetime.datetime.now(datetime.timezone.utc).date()
        reset = f"{next_month_start(today)}T00:00:00Z"
        self.assertEqual(error["reset_at"], reset)
        self.assertIn(f"resets {reset}", error["message"])
        # A lifetime budget never resets: no reset_at.
        self.assertEqual(us.get(SA_CALL, timeout=10).status_code, 200)
        lifetime = us.get(SA_CALL, timeout=10).json()["error"]
        self.assertEqual(lifetime["budget"], "lifetime")
        self.assertNotIn("reset_at", lifetime)
        self.assertNotIn("resets", lifetime["message"])
        # `report --budgets`: each budget's share used and its reset, from the ledger, while serving.
        import subprocess
        self.wait_until(lambda: all(b["used"] == 5 for b in self.admin_get(proxy, "/api/v1/budgets")["budgets"]), what="the rows")
        run = subprocess.run([harness.BINARY, "report", "--config", proxy.config_path, "--budgets", "--format", "json"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 0, run.stderr)
        import json as _json
        report = {b["budget"]: b for b in _json.loads(run.stdout)["budgets"]}
        self.assertEqual((report["monthly"]["used"], report["monthly"]["used_percent"], report["monthly"]["resets"]), (5, 100.0, reset))
        self.assertEqual(report["lifetime"]["resets"], "never")
        table = subprocess.run([harness.BINARY, "report", "--config", proxy.config_path, "--budgets"], capture_output=True, text=True,
                               timeout=30).stdout
        self.assertIn("100.0%", table)

    def test_budgets_forecast_when_they_run_out(self):
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start_proxy(self.vendor_config(
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "tight", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "limit": 12, "period": "month"},
                     {"id": "idle", "scope": {"client": "us-1"}, "vendor": "scraperapi", "limit": 12, "period": "month"},
                     {"id": "slots", "vendor": "scraperapi", "max_concurrent": 3}]))
        s = self.session(proxy)
        for _ in range(2):
            self.assertEqual(s.get(SA_CALL, timeout=10).status_code, 200)
        budgets = {b["id"]: b for b in self.admin_get(proxy, "/api/v1/budgets")["budgets"]}
        # 10 of 12 spent since the month began: at that rate the last 2 go within the month.
        at = budgets["tight"]["forecast_exhausted_at"]
        self.assertIsNotNone(at)
        now = datetime.datetime.now(datetime.timezone.utc)
        when = datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        self.assertGreater(when, now)
        self.assertLess(when.strftime("%Y-%m-%dT%H:%M:%SZ"), budgets["tight"]["period_end"])
        self.assertIsNone(budgets["idle"]["forecast_exhausted_at"])   # nothing spent
        self.assertIsNone(budgets["slots"]["forecast_exhausted_at"])  # not a credits budget
        # Spent to the limit: it runs out now.
        refused = s.get(SA_CALL, timeout=10)
        self.assertEqual(refused.status_code, 402)
        self.assertEqual(s.get(SA_CALL.replace("amazon.com", "example.com"), timeout=10).status_code, 200)  # 1 credit
        self.assertEqual(s.get(SA_CALL.replace("amazon.com", "example.com"), timeout=10).status_code, 200)
        tight = next(b for b in self.admin_get(proxy, "/api/v1/budgets")["budgets"] if b["id"] == "tight")
        self.assertEqual(tight["remaining"], 0)
        self.assertLessEqual(tight["forecast_exhausted_at"], datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))

    def test_estimate_prices_a_job_without_calling_anyone(self):
        self.add_account("scraperapi", "SA-KEY")
        config = self.vendor_config(
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "growth-sa", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 40, "period": "month"},
                     {"id": "helius-all", "vendor": "helius", "limit": 100}])
        proxy = self.start_proxy(config)
        self.assertEqual(self.session(proxy).get(SA_CALL, timeout=10).status_code, 200)  # 5 of growth-sa's 40 spent
        self.wait_until(lambda: self.admin_get(proxy, "/api/v1/budgets")["budgets"][0]["used"] == 5, what="the spend")
        job = {"client": "eu-1", "calls": [
            {"method": "GET", "url": "https://api.scraperapi.com/?api_key=SA-KEY&url=https%3A%2F%2Fwww.amazon.com%2Fdp%2FX&render=true",
             "count": 3},
            {"method": "POST", "url": "https://mainnet.helius-rpc.com/?api-key=K",
             "body": [{"method": "getBalance"}, {"method": "getAsset"}, {"method": "getBlock"}, {"method": "getSlot"}]},
            {"url": "https://unknown.example/x"}]}
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/estimate", json=job,
                          headers={"Authorization": "Bearer test-admin-token"}, timeout=10)
        self.assertEqual(r.status_code, 200, r.text)
        answer = r.json()
        self.assertEqual(answer["calls"][0], {"vendor": "scraperapi", "unit": "credits", "estimate": 15, "total": 45})
        self.assertEqual(answer["calls"][1]["total"], 22)
        self.assertEqual(answer["calls"][2]["error"], "destination_not_allowed")
        totals = {t["vendor"]: t for t in answer["totals"]}
        self.assertEqual(Decimal(str(totals["scraperapi"]["cost_usd"])), Decimal("0.02205"))
        budgets = {b["id"]: b for b in answer["budgets"]}
        self.assertEqual((budgets["growth-sa"]["remaining"], budgets["growth-sa"]["needed"], budgets["growth-sa"]["fits"],
                          budgets["growth-sa"]["short_by"]), (35, 45, False, 10))
        self.assertIsNone(budgets["growth-sa"]["fits_at"])  # 45 never fits a 40 month
        self.assertTrue(budgets["helius-all"]["fits"])
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 5)  # nothing more went to the vendor
        for bad, code in (({"calls": "x"}, 400), ({"client": "nobody", "calls": []}, 400)):
            r = requests.post(f"http://{proxy.admin_addr}/api/v1/estimate", json=bad, headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
            self.assertEqual(r.status_code, code)
        # A big job is read only with a valid token: 3,000 calls (~300 KB) with it, nothing without.
        big = {"client": "eu-1", "calls": [{"url": "https://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/p%d" % i}
                                           for i in range(3000)]}
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/estimate", json=big, headers={"Authorization": "Bearer test-admin-token"},
                          timeout=30)
        self.assertEqual((r.status_code, len(r.json()["calls"])), (200, 3000))
        try:  # the proxy answers 413 and closes; the client may still be sending and see a reset first
            r = requests.post(f"http://{proxy.admin_addr}/api/v1/estimate", json=big, headers={"Authorization": "Bearer wrong"},
                              timeout=30)
            self.assertEqual((r.status_code, r.json()["error"]["code"]), (413, "body_too_large"))
        except requests.exceptions.ConnectionError:
            pass
        # The command-line twin, for profile authors.
        import subprocess
        run = subprocess.run([harness.BINARY, "estimate", "--config", proxy.config_path, "--client", "eu-1",
                              "https://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&render=true"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("11 credits (scraperapi)", run.stdout)
        self.assertIn("budget growth-sa: needs 11 of 35 credits left: fits", run.stdout)
        self.assertNotIn("SA-KEY", run.stdout)

    def test_max_cost_caps_a_call_before_anything_is_reserved(self):
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start_proxy(self.vendor_config(
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "sa", "vendor": "scraperapi", "limit": 1000}]))
        s = self.session(proxy)
        # Amazon with render=true costs 15 credits at ScraperAPI's mock (5 for the domain, 10 to render): above 5.
        r = s.get(SA_CALL + "&render=true", headers={"X-Creditgate-Max-Cost": "5"}, timeout=10)
        self.assertEqual(r.status_code, 402)
        self.assertEqual(r.headers["X-Creditgate-Error"], "max_cost_exceeded")
        error = r.json()["error"]
        self.assertEqual((error["code"], error["cost"], error["max_cost"], error["unit"]), ("max_cost_exceeded", 15, 5, "credits"))
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 0)  # nothing went to the vendor
        budget = self.admin_get(proxy, "/api/v1/budgets")["budgets"][0]
        self.assertEqual((budget["used"], budget["frozen"]), (0, 0))  # nothing reserved, nothing spent
        # At or under the cap the call goes through (the header itself never reaches the vendor:
        # X-Creditgate-* fields are dropped, see test_hostile_clients).
        self.assertEqual(s.get(SA_CALL + "&render=true", headers={"X-Creditgate-Max-Cost": "15"}, timeout=10).status_code, 200)
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 15)
        for bad in ("-1", "ten", "1e400"):
            r = s.get(SA_CALL, headers={"X-Creditgate-Max-Cost": bad}, timeout=10)
            self.assertEqual((r.status_code, r.json()["error"]["code"]), (400, "bad_request"), bad)
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 15)
        self.assertIn("max_cost_exceeded", proxy.log())

    def test_usage_units_hours_and_csv_download(self):
        self.add_account("scraperapi", "SA-KEY")
        self.add_account("neuji", "NJ-KEY")
        proxy = self.start_proxy(self.vendor_config(
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"},
                      {"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY"}]))
        s = self.session(proxy)
        self.assertEqual(s.get(SA_CALL, timeout=10).status_code, 200)
        self.assertEqual(s.get("http://api.neuji.com/v1/search?fanout=1", headers={"Authorization": "Bearer NJ-KEY"},
                               timeout=10).status_code, 200)
        self.wait_until(lambda: sum(r["requests"] for r in self.admin_get(proxy, "/api/v1/usage?group_by=")["rows"]) == 2,
                        what="both calls in the ledger")
        by_vendor = {r["vendor"]: r for r in self.admin_get(proxy, "/api/v1/usage?group_by=vendor")["rows"]}
        self.assertEqual((by_vendor["scraperapi"]["unit"], by_vendor["neuji"]["unit"]), ("credits", "cents"))
        self.assertEqual(by_vendor["scraperapi"]["credits"], 5)
        across = self.admin_get(proxy, "/api/v1/usage?group_by=client")["rows"]
        self.assertEqual(len(across), 1)
        self.assertEqual((across[0]["unit"], across[0]["credits"]), ("mixed", None))
        self.assertGreater(across[0]["cost_usd"], 0)  # dollars do add up across vendors
        hours = self.admin_get(proxy, "/api/v1/usage?group_by=hour,vendor")["rows"]
        now = datetime.datetime.now(datetime.timezone.utc)
        self.assertEqual(sum(r["requests"] for r in hours), 2)
        self.assertTrue(all(r["hour"] in (now.strftime("%Y-%m-%dT%H:00Z"),
                                          (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:00Z")) for r in hours), hours)
        csv = requests.get(f"http://{proxy.admin_addr}/api/v1/usage?group_by=vendor&format=csv",
                           headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(csv.status_code, 200)
        self.assertTrue(csv.headers["Content-Disposition"].startswith('attachment; filename="creditgate-usage-'))
        self.assertEqual(csv.text.splitlines()[0], "vendor,requests,succeeded,failed,rejected,credits,unit,cost_usd,avg_latency_ms")


if __name__ == "__main__":
    harness.main()
