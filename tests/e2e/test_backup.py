#!/usr/bin/env python3
"""`creditgate backup` (SPEC §7): a consistent copy of the SQLite ledger taken while the proxy
serves and writes, which a proxy then starts from with the same budgets and usage; PostgreSQL
is sent to pg_dump."""

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

CALL = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"  # 1 credit


class Backup(harness.VendorTestCase):
    def config(self, state_dir, **extra):
        config = self.vendor_config(vendors=["scraperapi"], accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
                                    budgets=[{"id": "sa-all", "vendor": "scraperapi", "limit": 100000}], **extra)
        config["state_dir"] = state_dir
        return config

    def test_a_backup_while_serving_restores_the_same_books(self):
        self.add_account("scraperapi", "SA-KEY")
        state_dir = os.path.join(tempfile.mkdtemp(dir=self.tmp), "var")
        proxy = self.start_proxy(self.config(state_dir))
        stop = threading.Event()

        def spend():
            with requests.Session() as s:
                s.trust_env = False
                s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
                while not stop.is_set():
                    s.get(CALL, timeout=10)

        workers = [threading.Thread(target=spend) for _ in range(4)]
        for w in workers:
            w.start()
        self.wait_until(lambda: self.admin_get(proxy, "/api/v1/budgets")["budgets"][0]["used"] > 50, what="some spending")
        copy = os.path.join(tempfile.mkdtemp(dir=self.tmp), "ledger-backup.db")
        run = subprocess.run([harness.BINARY, "backup", "--config", proxy.config_path, "--to", copy],
                             capture_output=True, text=True, timeout=60)
        stop.set()
        for w in workers:
            w.join()
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("backed up", run.stdout)
        self.assertFalse(os.path.exists(copy + ".partial"))
        with sqlite3.connect(copy) as db:
            self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
            self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "delete")  # it stands alone
            used = db.execute("SELECT COALESCE(SUM(CASE WHEN finished_at IS NULL THEN estimate ELSE actual END), 0) FROM calls").fetchone()[0]
            rolled = db.execute("SELECT COALESCE(SUM(requests), 0) FROM usage_daily").fetchone()[0]
            finished = db.execute("SELECT COUNT(*) FROM calls WHERE finished_at IS NOT NULL").fetchone()[0]
        self.assertGreater(used, 0)
        self.assertEqual(rolled, finished)  # the roll-up and the rows are of the same moment
        # Restore: a proxy started on the copy has the copy's books.
        restored_dir = os.path.join(tempfile.mkdtemp(dir=self.tmp), "var")
        os.makedirs(restored_dir)
        shutil.copy(copy, os.path.join(restored_dir, "creditgate.db"))
        restored = self.start_proxy(self.config(restored_dir))
        budget = self.admin_get(restored, "/api/v1/budgets")["budgets"][0]
        self.assertEqual(budget["used"] * 1000000, used)
        usage = self.admin_get(restored, "/api/v1/usage?group_by=")["rows"]
        self.assertEqual(usage[0]["requests"], finished)

    def test_postgres_is_sent_to_pg_dump_and_bad_arguments_are_usage_errors(self):
        state_dir = os.path.join(tempfile.mkdtemp(dir=self.tmp), "var")
        path = os.path.join(tempfile.mkdtemp(dir=self.tmp), "pg.json")
        import json
        with open(path, "w") as f:
            json.dump(self.config(state_dir, storage={"kind": "postgres", "url": "postgresql://nobody@127.0.0.1:1/none"}), f)
        run = subprocess.run([harness.BINARY, "backup", "--config", path, "--to", "/tmp/x.db"], capture_output=True, text=True, timeout=30)
        self.assertEqual(run.returncode, 2)
        self.assertIn("pg_dump", run.stderr)
        self.assertNotIn("nobody@", run.stderr)
        missing = subprocess.run([harness.BINARY, "backup", "--config", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(missing.returncode, 2)
        self.assertIn("--to", missing.stderr)


if __name__ == "__main__":
    harness.main()
