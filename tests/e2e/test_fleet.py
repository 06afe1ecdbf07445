#!/usr/bin/env python3
"""Several instances sharing budgets through PostgreSQL credit leases (SPEC §10), each test on a
PostgreSQL 15 started here in a temporary folder: the fleet admits exactly what one instance
alone would, a killed instance's lease comes back after ttl_s, a stopped one returns it at once,
concurrency holds across instances, the database may go away and come back without a row lost."""

import glob
import os
import re
import signal
import subprocess
import sys
import threading
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import pg  # noqa: E402
import requests  # noqa: E402

CALL = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"
ACCOUNTS = [{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}]


class Fleet(harness.VendorTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendors_dir = harness.fast_poll_vendors(os.path.join(cls.tmp, "vendors"))

    def setUp(self):
        super().setUp()
        self.db = pg.Postgres()
        self.addCleanup(self.db.close)
        self.add_account("scraperapi", "SA-KEY", concurrency_limit=1000)

    def start_instance(self, budgets, name, ttl_s=30, accounts=ACCOUNTS, **storage):
        store = {"kind": "postgres", "url": self.db.url, "instance": name, "flush_ms": 50,
                 "lease": {"target_s": 2, "ttl_s": ttl_s}}
        store.update(storage)
        return self.start_proxy(self.vendor_config(accounts=accounts, budgets=budgets, storage=store,
                                                   vendors_dir=self.vendors_dir))

    def hammer(self, proxies, clients_each, calls_each, query=""):
        """clients_each threads per instance, each making calls_each calls; the status codes."""
        statuses = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(proxies) * clients_each)

        def client(proxy):
            with requests.Session() as s:
                s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
                barrier.wait()
                for _ in range(calls_each):
                    code = s.get(CALL + query, timeout=30).status_code
                    with lock:
                        statuses.append(code)

        threads = [threading.Thread(target=client, args=(p,)) for p in proxies for _ in range(clients_each)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        return statuses

    def central(self, budget_id):
        rows = self.db.sql(f"SELECT used, leased FROM creditgate_budget_rows WHERE budget_id = '{budget_id}'")
        return tuple(Decimal(v) / 1000000 for v in rows[0])

    def held_by(self, name):
        rows = self.db.sql("SELECT COALESCE(SUM(GREATEST(0, l.granted - l.spent - l.returned)), 0) FROM creditgate_leases l"
                           f" JOIN creditgate_instances i USING (run) WHERE i.name = '{name}'")
        return Decimal(rows[0][0]) / 1000000

    def call(self, proxy, query=""):
        with requests.Session() as s:
            s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
            return s.get(CALL + query, timeout=30)

    def test_three_instances_admit_exactly_the_limit(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 150}]
        fleet = [self.start_instance(budget, f"node-{i}") for i in range(3)]
        statuses = self.hammer(fleet, 64, 4)  # 768 calls for 150 credits
        self.assertEqual(len(statuses), 768)
        self.assertEqual(statuses.count(200), 150, sorted(set(statuses)))
        self.assertEqual(statuses.count(402), 768 - 150)
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 150)
        for proxy in fleet:
            self.wait_until(lambda: self.budget(proxy, "team")["used"] == 150, what="the fleet's spend on every instance")
            b = self.budget(proxy, "team")
            self.assertEqual((b["frozen"], b["remaining"]), (0, 0))
        for proxy in fleet:
            self.assertEqual(proxy.terminate(), 0)
        self.assertEqual(self.central("team"), (150, 0))
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_leases"), [["0"]])
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_instances"), [["0"]])
        rows = self.db.sql("SELECT decision, count(*), COALESCE(SUM(actual), 0) FROM creditgate_calls GROUP BY 1 ORDER BY 1")
        self.assertEqual(rows, [["allowed", "150", "150000000"], ["rejected", "618", "0"]])

    def test_a_stopped_instance_returns_its_lease(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 1000}]
        a = self.start_instance(budget, "a")
        self.hammer([a], 8, 10)
        self.wait_until(lambda: self.held_by("a") > 0, what="a lease held by a")
        self.assertEqual(a.terminate(), 0)
        used, leased = self.central("team")
        self.assertEqual((used, leased), (80, 0))
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_instances"), [["0"]])

    def test_a_killed_instance_lease_is_reclaimed_after_ttl(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 40}]
        a = self.start_instance(budget, "a", ttl_s=3)
        b = self.start_instance(budget, "b", ttl_s=3)
        # a spends 24 (fewer if a lease wait timed out on a loaded machine) and keeps a lease.
        spent = self.hammer([a], 8, 3).count(200)
        self.assertGreater(spent, 12)
        # Two calls in flight at a when it dies: they count at their reservation.
        def doomed_call():
            try:
                self.call(a, "&mock_sleep_ms=8000")
            except requests.RequestException:
                pass  # a dies under it

        slow = [threading.Thread(target=doomed_call, daemon=True) for _ in range(2)]
        for t in slow:
            t.start()
        self.wait_until(lambda: self.db.sql("SELECT COALESCE(SUM(frozen), 0) FROM creditgate_leases")[0][0] == "2000000",
                        what="a's reservations reported")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        held = self.held_by("a")  # what the dead instance holds, in flight included
        self.assertGreater(held, 2)
        # Until ttl_s passes, b may spend only what nobody holds; a call beyond that waits for a
        # lease (the budget is not spent: a's part may come back) and hears 503 after a while.
        free = int(40 - spent - held)
        codes = [self.call(b).status_code for _ in range(free)]
        self.assertEqual(codes, [200] * free)
        r = self.call(b)
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.json()["error"]["code"], "storage_unavailable")
        time.sleep(4.5)  # ttl_s, and a reclaim pass
        more = [self.call(b).status_code for _ in range(int(held))]
        # a's unused lease is b's now; its two calls in flight count at their reservation.
        self.assertEqual(more, [200] * int(held - 2) + [402] * 2)
        # b's last spend reaches the central row at its next exchange.
        self.wait_until(lambda: self.central("team")[0] == 40, what="the central row at the limit")
        self.assertEqual(self.db.sql("SELECT name FROM creditgate_instances"), [["b"]])
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_calls WHERE finished_at IS NULL"), [["2"]])

    def test_concurrency_across_the_fleet(self):
        budget = [{"id": "slots", "vendor": "scraperapi", "max_concurrent": 3}]
        fleet = [self.start_instance(budget, f"node-{i}") for i in range(2)]
        statuses = self.hammer(fleet, 8, 2, "&mock_sleep_ms=300")
        self.assertLessEqual(self.vendor_account("SA-KEY")["peak"], 3)
        self.assertGreaterEqual(statuses.count(200), 3)
        self.assertEqual(statuses.count(200) + statuses.count(429), len(statuses), sorted(set(statuses)))

    def test_a_rate_budget_holds_across_the_fleet(self):
        budget = [{"id": "rate", "vendor": "scraperapi", "rate": "6/min"}]
        fleet = [self.start_instance(budget, f"node-{i}") for i in range(2)]
        started = time.monotonic()
        statuses = self.hammer(fleet, 4, 3)
        elapsed = time.monotonic() - started
        # The bucket holds 6 tokens and refills one every 10 s: the fleet takes no more.
        self.assertLessEqual(statuses.count(200), 6 + int(elapsed / 10), statuses)
        self.assertGreaterEqual(statuses.count(200), 1)
        self.assertEqual(statuses.count(200) + statuses.count(429), len(statuses), sorted(set(statuses)))

    def test_a_name_in_use_refuses_to_start_and_a_dead_one_is_taken_over(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 100}]
        a = self.start_instance(budget, "same")
        with self.assertRaises(RuntimeError):  # never prints its listening line
            self.start_instance(budget, "same")
        for proxy_log in glob.glob(os.path.join(self.tmp, "*", "creditgate.log")):
            if "is in use by a live instance" in open(proxy_log).read():
                break
        else:
            self.fail("no instance said why it did not start")
        # Killed and restarted on the same host: the new process takes the name and what it held.
        self.assertEqual(self.call(a).status_code, 200)
        self.wait_until(lambda: self.db.sql("SELECT count(*) FROM creditgate_leases WHERE spent = 1000000") == [["1"]],
                        what="a's spend reported")
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(10)
        b = self.start_instance(budget, "same")  # at once: no wait for ttl_s
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_instances"), [["1"]])
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_leases l WHERE l.run NOT IN"
                                     " (SELECT run FROM creditgate_instances)"), [["0"]])
        self.assertEqual(self.call(b).status_code, 200)
        self.wait_until(lambda: self.central("team")[0] == 2, what="both calls in the central row")

    def test_two_instances_start_at_once_on_an_empty_database(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 10}]
        started, errors = [], []

        def start(name):
            try:
                started.append(self.start_instance(budget, name))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=start, args=(n,)) for n in ("x", "y")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        self.assertEqual(errors, [])
        self.assertEqual(len(started), 2)
        self.assertEqual(self.db.sql("SELECT version FROM creditgate_schema ORDER BY version"), [["1"], ["2"], ["3"]])  # each once
        self.assertEqual(sorted(self.db.sql("SELECT name FROM creditgate_instances")), [["x"], ["y"]])

    def test_the_database_goes_away_and_comes_back(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 100000}]
        # With a password in the conninfo (trust auth ignores it): it must never reach the log.
        a = self.start_instance(budget, "a", buffer_rows=40, url=self.db.url + " password=pg-secret-4d1f")
        self.hammer([a], 4, 10)  # a lease for about target_s of this pace
        self.wait_until(lambda: self.held_by("a") >= 5, what="a lease")
        self.db.stop("immediate")
        codes = [self.call(a).status_code for _ in range(60)]
        # Within the lease calls go on; past it, or past buffer_rows, 503; never anything else.
        self.assertIn(200, codes)
        self.assertIn(503, codes)
        self.assertEqual(set(codes), {200, 503}, codes)
        r = self.call(a)
        self.assertEqual(r.status_code, 503)
        self.assertEqual(r.json()["error"]["code"], "storage_unavailable")
        served = codes.count(200)
        self.db.start()
        self.wait_until(lambda: self.call(a).status_code == 200, timeout=20, what="calls admitted again")
        self.assertEqual(a.terminate(), 0)
        rows = self.db.sql("SELECT count(*) FROM creditgate_calls WHERE decision = 'allowed'")
        billed = Decimal(self.vendor_account("SA-KEY")["billed"])
        self.assertEqual(Decimal(rows[0][0]), billed)  # every call that reached the vendor is in the ledger
        self.assertEqual(self.central("team"), (billed, 0))
        self.assertGreaterEqual(billed, 40 + served)
        log = a.log()
        self.assertEqual(log.count("the fleet's database is unreachable"), 1, log[-3000:])
        self.assertNotIn("pg-secret-4d1f", log)

    def test_every_instance_shows_the_fleet(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 100}]
        a = self.start_instance(budget, "a")
        b = self.start_instance(budget, "b")
        for _ in range(7):
            self.assertEqual(self.call(a).status_code, 200)
        self.wait_until(lambda: self.budget(b, "team")["used"] == 7, what="b sees a's spend")
        usage = self.admin_get(b, "/api/v1/usage?group_by=client")["rows"]
        self.assertEqual([(r["client"], r["requests"]) for r in usage], [("eu-1", 7)])

    def accounts(self, proxy):
        return {a["id"]: a for a in self.admin_get(proxy, "/api/v1/accounts")["accounts"]}

    def test_one_instance_polls_an_account_and_all_share_what_it_learns(self):
        accounts = [{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY", "poll_interval_s": 1}]
        a = self.start_instance([], "a", accounts=accounts)
        b = self.start_instance([], "b", accounts=accounts)
        for proxy in (a, b):
            self.wait_until(lambda: self.accounts(proxy)["sa"]["source"] == "poll", what="a reading on every instance")
        before = len(self.vendor_account("SA-KEY")["poll_times"])
        time.sleep(4)
        polls = len(self.vendor_account("SA-KEY")["poll_times"]) - before
        self.assertLessEqual(polls, 5)  # one instance polling each second; two would make 8
        self.assertGreaterEqual(polls, 3)
        # Out of credit at the vendor: the instance that meets it marks the account, the other
        # refuses from then on without asking the vendor, and a reset on either reopens it.
        self.add_account("scraperapi", "SA-KEY", used=100000, balance_mode="error")
        r = self.call(a)
        self.assertEqual(r.headers.get("X-Creditgate-Error"), "upstream_credits_exhausted")
        self.wait_until(lambda: self.accounts(b)["sa"]["exhausted"], what="b hears of the exhausted account")
        calls = self.vendor_account("SA-KEY")["calls"]
        r = self.call(b)
        self.assertEqual(r.status_code, 402)
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], calls)
        self.add_account("scraperapi", "SA-KEY", used=0, balance_mode="error")
        reset = requests.post(f"http://{b.admin_addr}/api/v1/accounts/sa/reset",
                              headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(reset.status_code, 200)
        self.wait_until(lambda: not self.accounts(a)["sa"]["exhausted"], what="a hears of the reset")
        self.assertEqual(self.call(a).status_code, 200)
        # The poller's failures are shared too.
        self.wait_until(lambda: self.accounts(a)["sa"]["poll_error"] and self.accounts(b)["sa"]["poll_error"],
                        what="the poll error on both")
        # The polling instance stops: the other takes the account over.
        a.terminate()
        self.add_account("scraperapi", "SA-KEY", balance_mode="ok")
        before = len(self.vendor_account("SA-KEY")["poll_times"])
        self.wait_until(lambda: len(self.vendor_account("SA-KEY")["poll_times"]) > before + 1, what="polls go on")

    def test_instances_route_lists_the_fleet_and_its_leases(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 1000}]
        a = self.start_instance(budget, "a")
        b = self.start_instance(budget, "b")
        self.hammer([a], 4, 5)
        self.wait_until(lambda: self.held_by("a") > 0, what="a lease")
        listed = self.admin_get(b, "/api/v1/instances")["instances"]
        self.assertEqual([i["id"] for i in listed], ["a", "b"])
        self.assertEqual([i["self"] for i in listed], [False, True])
        self.assertTrue(all(i["heartbeat_age_s"] < 5 for i in listed))
        self.assertEqual([lease["budget"] for lease in listed[0]["leases"]], ["team"])
        self.assertGreater(listed[0]["leases"][0]["amount"], 0)
        metrics = requests.get(f"http://{a.admin_addr}/metrics", headers={"Authorization": "Bearer test-admin-token"},
                               timeout=5).text
        granted = re.search(r'creditgate_lease_requests_total\{result="granted"\} (\d+)', metrics)
        self.assertIsNotNone(granted, metrics[-2000:])
        self.assertGreater(int(granted.group(1)), 0)
        self.assertNotIn(self.db.url, a.log() + b.log())

    def test_prune_keeps_the_fleets_days_and_budgets(self):
        budget = [{"id": "team", "vendor": "scraperapi", "limit": 1000}]
        a = self.start_instance(budget, "a")
        self.assertEqual(self.hammer([a], 2, 3).count(200), 6)
        self.wait_until(lambda: int(self.db.sql("SELECT count(*) FROM creditgate_calls WHERE finished_at IS NOT NULL")[0][0]) == 6,
                        what="the rows in PostgreSQL")
        # Move the calls 60 days back, as if old, then prune before 30 days ago.
        self.db.sql("UPDATE creditgate_calls SET admitted_at = admitted_at - 60 * 86400000::bigint")
        self.db.sql("UPDATE creditgate_usage_daily SET day = day - 60")
        before = self.admin_get(a, "/api/v1/usage?group_by=day&from=2020-01-01")["rows"]
        self.assertEqual(sum(r["requests"] for r in before), 6)
        run = subprocess.run([harness.BINARY, "prune", "--config", a.config_path], capture_output=True, text=True, timeout=60,
                             env=harness.clean_env())
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("pruned 0 finished rows", run.stdout)  # the default retention_days, 400: all too young
        cut = subprocess.run([harness.BINARY, "prune", "--config", a.config_path, "--before",
                              time.strftime("%Y-%m-%d", time.gmtime(time.time() - 30 * 86400))],
                             capture_output=True, text=True, timeout=60, env=harness.clean_env())
        self.assertEqual(cut.returncode, 0, cut.stderr)
        self.assertIn("pruned 6 finished rows", cut.stdout)
        self.assertEqual(self.db.sql("SELECT count(*) FROM creditgate_calls")[0][0], "0")
        self.assertEqual(self.admin_get(a, "/api/v1/usage?group_by=day&from=2020-01-01")["rows"], before)
        self.assertNotIn(self.db.url, run.stdout + run.stderr + cut.stdout + cut.stderr)


if __name__ == "__main__":
    harness.main()
