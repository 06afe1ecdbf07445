#!/usr/bin/env python3
"""The SQLite ledger through the real binary: budgets' used survives SIGTERM and kill -9, the
database stays sound, reports (API, CSV, `creditgate report`) count exactly, a locked database
refuses metered calls with 503 storage_unavailable and loses no row, reloads recompute used."""

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

SA = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"
AMAZON = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://www.amazon.com/dp/X"
CD = "http://api.crustdata.com/person/search?limit=10"


class Persistence(harness.VendorTestCase):
    def setUp(self):
        super().setUp()
        self.add_account("scraperapi", "SA-KEY")
        self.add_account("crustdata", "CD-KEY")
        self.state_dir = os.path.join(self.tmp, f"state-{self._testMethodName}")

    def config(self, budgets=None, **overrides):
        if budgets is None:
            budgets = [
                {"id": "sa-growth", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 5},
                {"id": "sa-all", "vendor": "scraperapi", "limit": 100000},
                {"id": "sa-usd", "vendor": "scraperapi", "unit": "usd", "limit": "10.00", "period": "day"},
                {"id": "cd-us", "scope": {"client": "us-1"}, "vendor": "crustdata", "limit": 50, "period": "month"},
                {"id": "cd-search", "vendor": "crustdata", "scope": {"path_prefix": "/person/"}, "limit": 50},
            ]
        overrides.setdefault("storage", {"kind": "sqlite", "flush_ms": 50})
        return self.vendor_config(
            state_dir=self.state_dir,
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"},
                      {"id": "cd", "vendor": "crustdata", "api_key": "CD-KEY"}],
            budgets=budgets, **overrides)

    def session(self, proxy, user, secret):
        s = requests.Session()
        s.proxies = {"http": proxy.proxy_url(user, secret)}
        self.addCleanup(s.close)
        return s

    def traffic(self, proxy):
        """eu-1 (growth): 7 ScraperAPI calls against a budget of 5, 2 Crustdata searches;
        us-1 (research): 3 ScraperAPI calls on Amazon (5 each), 3 Crustdata searches."""
        eu = self.session(proxy, "eu-1", "s3cret-eu")
        us = self.session(proxy, "us-1", "s3cret-us")
        codes = [eu.get(SA, timeout=10).status_code for _ in range(7)]
        self.assertEqual(codes, [200] * 5 + [402] * 2)
        for _ in range(2):
            self.assertEqual(eu.get(CD, headers={"Authorization": "Bearer CD-KEY"}, timeout=10).status_code, 200)
        for _ in range(3):
            self.assertEqual(us.get(AMAZON, timeout=10).status_code, 200)
            self.assertEqual(us.get(CD, headers={"Authorization": "Bearer CD-KEY"}, timeout=10).status_code, 200)

    def used(self, proxy):
        return {b["id"]: b["used"] for b in self.admin_get(proxy, "/api/v1/budgets")["budgets"]}

    def db(self):
        return os.path.join(self.state_dir, "creditgate.db")

    def integrity(self):
        with sqlite3.connect(self.db()) as c:
            return c.execute("PRAGMA integrity_check").fetchone()[0]

    def admin(self, proxy, path):
        return requests.get(f"http://{proxy.admin_addr}{path}", headers={"Authorization": "Bearer test-admin-token"}, timeout=10)

    # ---- restarts ----

    def test_sigterm_and_start_again_keeps_every_used(self):
        proxy = self.start_proxy(self.config())
        self.traffic(proxy)
        before = self.used(proxy)
        self.assertEqual(before["sa-growth"], 5)
        self.assertEqual(before["sa-all"], 20)
        self.assertEqual(before["sa-usd"], Decimal("0.0098"))
        self.assertEqual(before["cd-us"], Decimal("0.36"))
        self.assertEqual(before["cd-search"], Decimal("0.6"))
        self.assertEqual(proxy.terminate(), 0)
        again = self.start_proxy(self.config())
        self.assertEqual(self.used(again), before)
        self.assertEqual(self.integrity(), "ok")
        # And the refusals stay refusals: growth's budget is still spent.
        eu = self.session(again, "eu-1", "s3cret-eu")
        self.assertEqual(eu.get(SA, timeout=10).status_code, 402)

    def test_kill_9_after_an_idle_second_keeps_every_used(self):
        proxy = self.start_proxy(self.config())
        self.traffic(proxy)
        before = self.used(proxy)
        time.sleep(1.0)
        proxy.kill()
        again = self.start_proxy(self.config())
        self.assertEqual(self.used(again), before)
        self.assertEqual(self.integrity(), "ok")

    def test_kill_9_under_load_never_forgets_what_the_vendor_billed(self):
        budgets = [{"id": "sa-all", "vendor": "scraperapi", "limit": 100000}]
        proxy = self.start_proxy(self.config(budgets))
        stop = threading.Event()

        def hammer():
            s = requests.Session()
            s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
            while not stop.is_set():
                try:
                    s.get(SA + "&mock_sleep_ms=120", timeout=5)
                except requests.RequestException:
                    return
        threads = [threading.Thread(target=hammer) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(1.5)
        proxy.kill()
        stop.set()
        for t in threads:
            t.join(10)
        time.sleep(0.3)  # calls the vendor was still answering are billed by now
        billed = Decimal(self.vendor_account("SA-KEY")["billed"])
        self.assertGreater(billed, 20)
        self.assertEqual(self.integrity(), "ok")
        again = self.start_proxy(self.config(budgets))
        used = self.used(again)["sa-all"]
        # Only the last unflushed batch (flush_ms 50) can be missing: at most the 8 calls in flight,
        # 1 credit each, which the vendor went on to bill after the proxy died. The other calls in
        # flight count at their reservation without having been billed.
        self.assertGreaterEqual(used, billed - 8)
        self.assertLessEqual(used, billed + 8)
        with sqlite3.connect(self.db()) as c:
            pending = c.execute("SELECT COUNT(*) FROM calls WHERE finished_at IS NULL").fetchone()[0]
        self.assertLessEqual(pending, 8)

    # ---- reports ----

    def test_usage_reports_count_exactly_in_every_grouping(self):
        proxy = self.start_proxy(self.config())
        self.traffic(proxy)
        time.sleep(0.3)  # a flush or two
        r = self.admin(proxy, "/api/v1/usage?group_by=client,vendor")
        self.assertEqual(r.status_code, 200)
        doc = json.loads(r.text, parse_float=Decimal)
        self.assertEqual(doc["group_by"], ["client", "vendor"])
        rows = {(row["client"], row["vendor"]): row for row in doc["rows"]}
        self.assertEqual(set(rows), {("eu-1", "scraperapi"), ("eu-1", "crustdata"), ("us-1", "scraperapi"), ("us-1", "crustdata")})
        eu_sa = rows[("eu-1", "scraperapi")]
        self.assertEqual((eu_sa["requests"], eu_sa["succeeded"], eu_sa["failed"], eu_sa["rejected"]), (7, 5, 0, 2))
        self.assertEqual(eu_sa["credits"], 5)
        self.assertEqual(eu_sa["cost_usd"], Decimal("0.00245"))
        self.assertEqual(rows[("us-1", "scraperapi")]["credits"], 15)
        self.assertEqual(rows[("us-1", "crustdata")]["credits"], Decimal("0.36"))
        self.assertEqual(rows[("eu-1", "crustdata")]["requests"], 2)

        teams = json.loads(self.admin(proxy, "/api/v1/usage?group_by=team").text, parse_float=Decimal)["rows"]
        self.assertEqual({t["team"]: t["requests"] for t in teams}, {"growth": 9, "research": 6})
        today = time.strftime("%Y-%m-%d", time.gmtime())
        days = json.loads(self.admin(proxy, f"/api/v1/usage?group_by=day&from={today}&to={today}").text)["rows"]
        self.assertEqual([(d["day"], d["requests"]) for d in days], [(today, 15)])
        only = json.loads(self.admin(proxy, "/api/v1/usage?group_by=client&vendor=crustdata&team=research").text)["rows"]
        self.assertEqual([(o["client"], o["requests"]) for o in only], [("us-1", 3)])
        self.assertEqual(json.loads(self.admin(proxy, "/api/v1/usage?from=2020-01-01&to=2020-01-31").text)["rows"], [])

        r = self.admin(proxy, "/api/v1/usage?group_by=client,vendor&format=csv")
        self.assertTrue(r.headers["Content-Type"].startswith("text/csv"))
        table = list(csv.DictReader(io.StringIO(r.text)))
        self.assertEqual(len(table), 4)
        self.assertEqual({(t["client"], t["vendor"]): t["requests"] for t in table},
                         {k: str(v["requests"]) for k, v in rows.items()})

        bad = self.admin(proxy, "/api/v1/usage?group_by=planet")
        self.assertEqual(bad.status_code, 400)
        self.assertIn("planet", bad.json()["error"]["message"])

        # The command line reads the same database (while the proxy runs) and agrees.
        out = subprocess.run([harness.BINARY, "report", "--config", proxy.config_path, "--group-by", "client,vendor",
                              "--format", "json"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(json.loads(out.stdout, parse_float=Decimal), doc)
        out = subprocess.run([harness.BINARY, "report", "--config", proxy.config_path, "--group-by", "team"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertTrue(out.stdout.startswith("team"), out.stdout)
        self.assertIn("growth", out.stdout)
        out = subprocess.run([harness.BINARY, "report", "--config", proxy.config_path, "--from", "2026-02-30"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 2)
        self.assertIn("from", out.stderr)

        # No secret in the ledger.
        with open(self.db(), "rb") as f:
            data = f.read()
        for secret in (b"SA-KEY", b"CD-KEY", b"s3cret"):
            self.assertNotIn(secret, data)

    def test_memory_storage_has_no_reports(self):
        proxy = self.start_proxy(self.config(storage={"kind": "memory"}))
        r = self.admin(proxy, "/api/v1/usage")
        self.assertEqual(r.status_code, 501)
        self.assertFalse(os.path.exists(self.db()))

    # ---- failures ----

    def test_an_unwritable_ledger_refuses_metered_calls_and_loses_nothing(self):
        proxy = self.start_proxy(self.config())
        eu = self.session(proxy, "eu-1", "s3cret-eu")
        self.assertEqual(eu.get(CD, headers={"Authorization": "Bearer CD-KEY"}, timeout=10).status_code, 200)
        lock = sqlite3.connect(self.db(), timeout=5, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            statuses = []
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                r = eu.get(CD, headers={"Authorization": "Bearer CD-KEY"}, timeout=10)
                statuses.append(r.status_code)
                if r.status_code == 503:
                    self.assertEqual(r.json()["error"]["code"], "storage_unavailable")
                    self.assertIn("Retry-After", r.headers)
                    break
                time.sleep(0.1)
            self.assertEqual(statuses[-1], 503, statuses)
        finally:
            lock.execute("COMMIT")
            lock.close()
        self.wait_until(lambda: eu.get(CD, headers={"Authorization": "Bearer CD-KEY"}, timeout=10).status_code == 200,
                        timeout=10, what="calls admitted again")
        admitted = len([s for s in statuses if s == 200]) + 2  # the first call and the one that passed at the end
        self.assertEqual(proxy.terminate(), 0)
        with sqlite3.connect(self.db()) as c:
            rows = c.execute("SELECT COUNT(*), SUM(finished_at IS NULL) FROM calls").fetchone()
        self.assertEqual(rows, (admitted, 0))  # every admitted call is on record, finished

    # ---- reload ----

    def test_reload_recomputes_changed_budgets_from_the_ledger(self):
        config = self.config()
        proxy = self.start_proxy(config)
        self.traffic(proxy)
        before = self.used(proxy)
        config["budgets"][1]["limit"] = 200000  # a changed budget: the books are rebuilt
        config["budgets"].append({"id": "sa-eu", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "limit": 50})
        with open(proxy.config_path, "w") as f:
            json.dump(config, f)
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/reload", headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 200, r.text)
        after = self.used(proxy)
        self.assertEqual({k: after[k] for k in before}, before)
        self.assertEqual(after["sa-eu"], 5)  # new: what eu-1 spent this month, from the ledger
        with open(proxy.config_path, "w") as f:
            f.write('{"listen": ')
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/reload", headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 400)
        self.assertEqual(self.used(proxy), after)


if __name__ == "__main__":
    harness.main()
