#!/usr/bin/env python3
"""Retention (SPEC §7, §13): `creditgate prune` deletes old finished rows while the proxy serves,
and the pruned days still report by day, with the same sums, and still count toward budgets."""

import datetime
import os
import sqlite3
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import gen_ledger  # noqa: E402
import harness  # noqa: E402


class Retention(harness.VendorTestCase):
    def test_pruned_days_still_report_and_count(self):
        state_dir = os.path.join(tempfile.mkdtemp(dir=self.tmp), "var")
        config = self.vendor_config(
            state_dir=state_dir, vendors=["scraperapi", "neuji"],
            storage={"kind": "sqlite", "flush_ms": 50, "retention_days": 30},
            budgets=[{"id": "sa-lifetime", "vendor": "scraperapi", "limit": 100000000},
                     {"id": "nj-lifetime", "scope": {"team": "research"}, "vendor": "neuji", "limit": 100000000}])
        first = self.start_proxy(config)
        first.close()
        db_path = os.path.join(state_dir, "creditgate.db")
        today = datetime.datetime.now(datetime.timezone.utc).date()
        today_day = (today - datetime.date(1970, 1, 1)).days
        vendors = {k: gen_ledger.VENDORS[k] for k in ("scraperapi", "neuji")}
        gen_ledger.seed(db_path, rows=6000, days=60, seed_value=3, client_count=2, vendors=vendors, today_day=today_day - 1)
        with sqlite3.connect(db_path) as db:
            db.execute("UPDATE calls SET client = 'eu-1' WHERE client = 'client-00'")
            db.execute("UPDATE calls SET client = 'us-1' WHERE client = 'client-01'")
            db.execute("UPDATE usage_daily SET client = 'eu-1' WHERE client = 'client-00'")
            db.execute("UPDATE usage_daily SET client = 'us-1' WHERE client = 'client-01'")
        proxy = self.start_proxy(config)
        frm = today - datetime.timedelta(days=70)
        by_day = f"/api/v1/usage?from={frm}&to={today}&group_by=day,client,vendor"
        before = self.admin_get(proxy, by_day)["rows"]
        budgets_before = {b["id"]: b["used"] for b in self.admin_get(proxy, "/api/v1/budgets")["budgets"]}
        self.assertGreater(budgets_before["sa-lifetime"], 0)
        horizon = today - datetime.timedelta(days=30)
        with sqlite3.connect(db_path) as db:
            old_rows = db.execute("SELECT COUNT(*) FROM calls WHERE admitted_at < ?",
                                  ((horizon - datetime.date(1970, 1, 1)).days * 86_400_000,)).fetchone()[0]
        self.assertGreater(old_rows, 2000)

        # While the proxy serves: retention_days 30 gives the horizon.
        run = subprocess.run([harness.BINARY, "prune", "--config", proxy.config_path], capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn(f"pruned {old_rows} finished rows", run.stdout)
        self.assertIn(f"before {horizon}", run.stdout)
        with sqlite3.connect(db_path) as db:
            self.assertEqual(db.execute("SELECT COUNT(*) FROM calls WHERE admitted_at < ?",
                                        ((horizon - datetime.date(1970, 1, 1)).days * 86_400_000,)).fetchone()[0], 0)
        self.assertEqual(self.admin_get(proxy, by_day)["rows"], before)
        # The report command reads the same days.
        report = subprocess.run([harness.BINARY, "report", "--config", proxy.config_path, "--from", str(frm), "--to", str(today),
                                 "--group-by", "day", "--format", "csv"], capture_output=True, text=True, timeout=60)
        self.assertEqual(report.returncode, 0, report.stderr)
        self.assertEqual(len(report.stdout.strip().splitlines()) - 1, len({r["day"] for r in before}))

        # A restart recomputes every budget's used from the ledger: the pruned days still count.
        proxy.close()
        again = self.start_proxy(config)
        budgets_after = {b["id"]: b["used"] for b in self.admin_get(again, "/api/v1/budgets")["budgets"]}
        self.assertEqual(budgets_after, budgets_before)
        self.assertEqual(self.admin_get(again, by_day)["rows"], before)

        # Bad input is a usage error; retention_days 0 prunes nothing.
        bad = subprocess.run([harness.BINARY, "prune", "--config", again.config_path, "--before", "2026-13-01"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(bad.returncode, 2)
        self.assertIn("--before", bad.stderr)


if __name__ == "__main__":
    harness.main()
