#!/usr/bin/env python3
"""Metering through the real binary against faithful mock vendors: costs settle to what the
vendor billed, budgets run out with 402, races admit exactly what fits, queues, rates, shadow
budgets, disconnects and failures leave nothing frozen, exhausted accounts are refused locally."""

import gzip
import json
import os
import socket
import sys
import threading
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402


class Metering(harness.VendorTestCase):
    def session(self, proxy, user="eu-1", secret="s3cret-eu"):
        s = requests.Session()
        s.proxies = {"http": proxy.proxy_url(user, secret)}
        self.addCleanup(s.close)
        return s

    def config_with(self, accounts=(), budgets=(), **overrides):
        return self.vendor_config(accounts=list(accounts), budgets=list(budgets), **overrides)

    # ---- one scenario per launch vendor: our settled cost is what the vendor billed ----

    def test_scraperapi_settles_to_the_billed_cost(self):
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}]))
        s = self.session(proxy)
        total = Decimal(0)
        for query, expected in (("url=https://example.com/", "1"), ("url=https://www.amazon.com/dp/X&render=true", "15"),
                                ("url=https://www.google.com/search&premium=true", "35"), ("url=https://example.com/404", "1")):
            r = s.get(f"http://api.scraperapi.com/?api_key=SA-KEY&{query}", timeout=10)
            self.assertEqual(r.headers["X-Creditgate-Cost"], expected, query)
            total += Decimal(expected)
        r = s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_fail=500", timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Cost"]), (500, "0"))
        r = s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://www.linkedin.com/in/x&max_cost=10", timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Cost"]), (403, "0"))  # over the cap: not charged
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), total)

    def test_multicart_envelopes_even_gzipped(self):
        self.add_account("multicart", "MC-KEY", credits=10)
        proxy = self.start_proxy(self.config_with([{"id": "mc", "vendor": "multicart", "api_key": "MC-KEY"}]))
        s = self.session(proxy)
        r = s.post("http://multicartapi.com/api/v1/products", json={"items": 3}, headers={"x-api-key": "MC-KEY"}, timeout=10)
        self.assertEqual(r.headers.get("Content-Encoding"), "gzip")  # the client got the vendor's own bytes
        self.assertEqual(r.json()["status"], 1)
        self.assertEqual(r.headers["X-Creditgate-Cost"], "3")
        r = s.post("http://multicartapi.com/api/v1/products", json={"items": 1}, headers={"x-api-key": "MC-KEY"}, timeout=10)
        self.assertEqual(r.headers["X-Creditgate-Cost"], "1")
        r = s.post("http://multicartapi.com/api/v1/products", json={"items": 1, "x": 1}, timeout=10,
                   headers={"x-api-key": "MC-KEY"}, params={"mock_fail": "500"})
        self.assertEqual((r.json()["status"], r.headers["X-Creditgate-Cost"]), (0, "0"))  # status 0: not charged
        self.assertEqual(Decimal(self.vendor_account("MC-KEY")["billed"]), 4)
        # Out of credit inside a 200 envelope: passed through, marked, and the account refused locally after.
        r = s.post("http://multicartapi.com/api/v1/products", json={"items": 9}, headers={"x-api-key": "MC-KEY"}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["code"], 402)
        self.assertEqual(r.headers["X-Creditgate-Error"], "upstream_credits_exhausted")
        calls = self.vendor_account("MC-KEY")["calls"]
        r = s.post("http://multicartapi.com/api/v1/products", json={"items": 1}, headers={"x-api-key": "MC-KEY"}, timeout=10)
        self.assertEqual(r.status_code, 402)
        self.assertEqual(r.json()["error"]["code"], "upstream_credits_exhausted")
        self.assertEqual(self.vendor_account("MC-KEY")["calls"], calls)  # never reached the vendor
        accounts = {a["id"]: a for a in self.admin_get(proxy, "/api/v1/accounts")["accounts"]}
        self.assertTrue(accounts["mc"]["exhausted"])
        admin = f"http://{proxy.admin_addr}/api/v1/accounts/mc/reset"
        self.assertEqual(requests.post(admin, headers={"Authorization": "Bearer test-admin-token"}, timeout=5).status_code, 200)
        r = s.post("http://multicartapi.com/api/v1/products", json={"items": 1}, headers={"x-api-key": "MC-KEY"}, timeout=10)
        self.assertEqual(r.json()["status"], 1)

    def test_crustdata_reserves_the_page_and_settles_per_result(self):
        self.add_account("crustdata", "CD-KEY", search_results=4)
        budget = {"id": "cd", "vendor": "crustdata", "limit": "10", "scope": {"client": "eu-1"}}
        proxy = self.start_proxy(self.config_with([{"id": "cd", "vendor": "crustdata", "api_key": "CD-KEY"}], [budget]))
        s = self.session(proxy)
        r = s.get("http://api.crustdata.com/person/search?limit=20", headers={"Authorization": "Bearer CD-KEY"},
                  params={"mock_sleep_ms": "300"}, timeout=10, stream=True)
        r.close()
        r = s.get("http://api.crustdata.com/person/search", headers={"Authorization": "Bearer CD-KEY"}, timeout=10)
        self.assertEqual(len(r.json()["profiles"]), 4)
        self.assertEqual(r.headers["X-Creditgate-Cost"], "0.12")
        self.assertEqual(Decimal(self.budget(proxy, "cd")["used"]), Decimal(self.vendor_account("CD-KEY")["billed"]))

    def test_helius_prices_batches(self):
        self.add_account("helius", "HE-KEY")
        proxy = self.start_proxy(self.config_with([{"id": "he", "vendor": "helius", "api_key": "HE-KEY",
                                                     "params": {"project_id": "p1"}}]))
        s = self.session(proxy)
        batch = [{"jsonrpc": "2.0", "id": i, "method": m} for i, m in enumerate(["getBalance", "getProgramAccounts", "getAsset"])]
        r = s.post("http://mainnet.helius-rpc.com/?api-key=HE-KEY", json=batch, timeout=10)
        self.assertEqual(r.headers["X-Creditgate-Cost"], "21")
        r = s.post("http://mainnet.helius-rpc.com/", json={"jsonrpc": "2.0", "id": 1, "method": "getTransaction"},
                   headers={"X-Api-Key": "HE-KEY"}, timeout=10)
        self.assertEqual(r.headers["X-Creditgate-Cost"], "10")
        self.assertEqual(Decimal(self.vendor_account("HE-KEY")["billed"]), 31)
        # Both out-of-credit forms are recognised.
        self.add_account("helius", "HE-KEY", credits=31)
        r = s.post("http://mainnet.helius-rpc.com/?api-key=HE-KEY", json={"method": "getBalance"}, timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (429, "upstream_credits_exhausted"))
        self.add_account("helius", "HE-RPC", credits=0, out_of_credit_style="rpc")
        r = s.post("http://mainnet.helius-rpc.com/?api-key=HE-RPC", json={"method": "getBalance"}, timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (200, "upstream_credits_exhausted"))

    def test_neuji_settles_by_balance_drops_when_sequential(self):
        self.add_account("neuji", "NJ-KEY", credits=4250)
        budget = {"id": "nj-usd", "vendor": "neuji", "unit": "usd", "limit": "5.00"}
        proxy = self.start_proxy(self.config_with([{"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY"}], [budget]))
        s = self.session(proxy)
        costs = []
        for fanout in (1, 1, 3, 2, 1):
            r = s.get(f"http://api.neuji.com/v1/search?fanout={fanout}", headers={"Authorization": "Bearer NJ-KEY"}, timeout=10)
            self.assertEqual(r.status_code, 200)
            costs.append(Decimal(r.headers["X-Creditgate-Cost"]))
        # The first call has no previous reading: it settles at the estimate (2); the rest by the drop.
        self.assertEqual(costs, [2, 2, 6, 4, 2])
        self.assertEqual(sum(costs), Decimal(self.vendor_account("NJ-KEY")["billed"]))
        self.assertEqual(Decimal(self.budget(proxy, "nj-usd")["used"]), Decimal("0.16"))  # cents at 0.01 USD
        accounts = {a["id"]: a for a in self.admin_get(proxy, "/api/v1/accounts")["accounts"]}
        self.assertEqual(accounts["nj"]["source"], "header")
        self.assertEqual(Decimal(str(accounts["nj"]["remaining"])), Decimal(4250) - sum(costs))

    # ---- budgets ----

    def test_budget_runs_out_with_402_and_the_json_fields(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "growth-sa", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 12, "period": "month"}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget]))
        s = self.session(proxy)
        self.assertEqual(s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10).status_code, 200)
        self.assertEqual(s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10).status_code, 200)
        r = s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10)
        self.assertEqual(r.status_code, 402)
        self.assertEqual(r.headers["X-Creditgate-Error"], "budget_exhausted")
        self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
        error = r.json()["error"]
        self.assertEqual((error["code"], error["budget"], error["limit"], error["used"], error["frozen"], error["remaining"], error["cost"]),
                         ("budget_exhausted", "growth-sa", 12, 10, 0, 2, 5))
        self.assertIn("retry_after_s", error)
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 10)
        # us-1 (team research) is not in that budget's scope.
        other = self.session(proxy, "us-1", "s3cret-us")
        self.assertEqual(other.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10).status_code, 200)

    def test_fifty_concurrent_calls_against_a_budget_for_ten(self):
        self.add_account("scraperapi", "SA-KEY", concurrency_limit=100)
        budget = {"id": "ten", "vendor": "scraperapi", "limit": 10}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget]))
        barrier = threading.Barrier(50)
        statuses = []
        lock = threading.Lock()

        def call():
            with requests.Session() as s:
                s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
                barrier.wait()
                r = s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_sleep_ms=200", timeout=20)
                with lock:
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=call) for _ in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(statuses.count(200), 10, statuses)
        self.assertEqual(statuses.count(402), 40)
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 10)
        b = self.budget(proxy, "ten")
        self.assertEqual((b["used"], b["frozen"], b["remaining"]), (10, 0, 0))

    def test_queue_mode_keeps_two_at_the_vendor(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "two", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "max_concurrent": 2,
                  "on_exceed": "queue", "queue_timeout_ms": 10000}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget]))
        statuses = []
        lock = threading.Lock()

        def call():
            with requests.Session() as s:
                s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
                r = s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_sleep_ms=300", timeout=20)
                with lock:
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        self.assertEqual(statuses, [200] * 6)
        self.assertEqual(self.vendor_account("SA-KEY")["peak"], 2)
        self.assertGreater(time.monotonic() - started, 0.85)  # three waves of 300 ms
        log = proxy.wait_for_log("decision=queued_allowed")
        self.assertIn("decision=queued_allowed", log)
        self.assertEqual(self.budget(proxy, "two")["queued"], 0)

    def test_queue_timeout(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "one", "vendor": "scraperapi", "max_concurrent": 1, "on_exceed": "queue", "queue_timeout_ms": 300}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget]))
        s1, s2 = self.session(proxy), self.session(proxy)
        slow = threading.Thread(target=lambda: s1.get(
            "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_sleep_ms=1500", timeout=20))
        slow.start()
        time.sleep(0.3)
        r = s2.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/", timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (429, "queue_timeout"))
        self.assertIn("Retry-After", r.headers)
        slow.join(20)

    def test_a_client_that_leaves_the_queue_never_reaches_the_vendor(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "one", "vendor": "scraperapi", "max_concurrent": 1, "on_exceed": "queue", "queue_timeout_ms": 10000}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget]))
        s = self.session(proxy)
        holder = threading.Thread(target=lambda: s.get(
            "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_sleep_ms=1200", timeout=20))
        holder.start()
        time.sleep(0.3)
        sock = socket.create_connection(("127.0.0.1", proxy.proxy_port))
        sock.sendall(f"GET http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/ HTTP/1.1\r\n"
                     f"Host: api.scraperapi.com\r\nProxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\n".encode())
        self.wait_until(lambda: self.budget(proxy, "one")["queued"] == 1, what="the second call to queue")
        sock.close()  # gives up while it waits
        holder.join(20)
        proxy.wait_for_log("decision=client_aborted")
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], 1)
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 1)
        b = self.budget(proxy, "one")
        self.assertEqual((b["frozen"], b["queued"]), (0, 0))

    def test_reload_keeps_used_and_frozen(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "b", "vendor": "scraperapi", "limit": 100}
        config = self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget])
        proxy = self.start_proxy(config)
        s = self.session(proxy)
        s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10)
        slow = threading.Thread(target=lambda: self.session(proxy).get(
            "http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/&mock_sleep_ms=1500", timeout=20))
        slow.start()
        self.wait_until(lambda: self.budget(proxy, "b")["frozen"] == 5, what="the call in flight")
        config["clients"].append({"id": "new-1", "team": "growth", "secret": "fresh"})  # budgets unchanged
        with open(proxy.config_path, "w") as f:
            json.dump(config, f)
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/reload", headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 200)
        b = self.budget(proxy, "b")
        self.assertEqual((b["used"], b["frozen"]), (5, 5))
        slow.join(20)
        b = self.budget(proxy, "b")
        self.assertEqual((b["used"], b["frozen"]), (10, 0))  # the call admitted before the reload settled into the same counters

    def test_rate_limit_answers_429_with_retry_after(self):
        self.add_account("crustdata", "CD-KEY")
        budget = {"id": "rate", "scope": {"client": "eu-1"}, "vendor": "crustdata", "rate": "3/min"}
        proxy = self.start_proxy(self.config_with([{"id": "cd", "vendor": "crustdata", "api_key": "CD-KEY"}], [budget]))
        s = self.session(proxy)
        codes = [s.get("http://api.crustdata.com/user/credits", headers={"Authorization": "Bearer CD-KEY"}, timeout=10).status_code
                 for _ in range(5)]
        self.assertEqual(codes, [200, 200, 200, 429, 429])
        r = s.get("http://api.crustdata.com/user/credits", headers={"Authorization": "Bearer CD-KEY"}, timeout=10)
        self.assertEqual(r.headers["X-Creditgate-Error"], "rate_limited")
        self.assertTrue(1 <= int(r.headers["Retry-After"]) <= 20)

    def test_shadow_mode_lets_calls_through_and_counts(self):
        self.add_account("neuji", "NJ-KEY")
        budget = {"id": "trial", "scope": {"team": "growth"}, "vendor": "neuji", "limit": 4, "mode": "shadow"}
        proxy = self.start_proxy(self.config_with([{"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY"}], [budget]))
        s = self.session(proxy)
        for _ in range(4):
            r = s.get("http://api.neuji.com/v1/search", headers={"Authorization": "Bearer NJ-KEY"}, timeout=10)
            self.assertEqual(r.status_code, 200)
        b = self.budget(proxy, "trial")
        self.assertEqual(b["mode"], "shadow")
        self.assertEqual(b["would_block"], 2)
        self.assertEqual(b["used"], 8)
        proxy.wait_for_log("decision=shadow_would_reject")

    def test_disconnects_and_failures_leave_nothing_frozen(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "b", "vendor": "scraperapi", "limit": 100}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget]))
        auth = harness.basic("eu-1", "s3cret-eu")
        # A client that leaves while the vendor works.
        sock = socket.create_connection(("127.0.0.1", proxy.proxy_port))
        sock.sendall(f"GET http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/&mock_sleep_ms=1500 HTTP/1.1\r\n"
                     f"Host: api.scraperapi.com\r\nProxy-Authorization: {auth}\r\n\r\n".encode())
        self.wait_until(lambda: self.budget(proxy, "b")["frozen"] == 5, what="the call to be frozen")
        self.assertEqual(len(self.admin_get(proxy, "/api/v1/reservations")["reservations"]), 1)
        sock.close()
        self.wait_until(lambda: self.budget(proxy, "b")["frozen"] == 0, what="the release")
        self.assertEqual(self.budget(proxy, "b")["used"], 0)
        # An upstream that fails: 502, nothing charged.
        s = self.session(proxy)
        r = s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_hangup=1", timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (502, "upstream_error"))
        b = self.budget(proxy, "b")
        self.assertEqual((b["frozen"], b["used"]), (0, 0))
        self.assertEqual(self.admin_get(proxy, "/api/v1/reservations")["reservations"], [])

    def test_a_vendor_slower_than_the_client_deadlines_is_still_answered(self):
        # header_read_s and client_idle_s bound what the client does, not how long the vendor works.
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "b", "vendor": "scraperapi", "limit": 100}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget],
                                                  limits={"header_read_s": 1, "client_idle_s": 2}))
        s = self.session(proxy)
        fast = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"
        self.assertEqual(s.get(fast, timeout=10).status_code, 200)  # then a keep-alive request, after an idle read
        r = s.get(fast + "&mock_sleep_ms=3000", timeout=10)
        self.assertEqual((r.status_code, r.headers.get("X-Creditgate-Cost")), (200, "1"))
        r = requests.get(fast + "&mock_sleep_ms=3000", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=10)
        self.assertEqual(r.status_code, 200)  # and on a new connection's first request
        b = self.budget(proxy, "b")
        self.assertEqual((b["frozen"], b["used"]), (0, 3))

    def test_a_call_queued_longer_than_the_client_deadlines_is_still_served(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "one", "vendor": "scraperapi", "max_concurrent": 1, "on_exceed": "queue", "queue_timeout_ms": 10000}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget],
                                                  limits={"header_read_s": 1, "client_idle_s": 2}))
        url = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/&mock_sleep_ms=2500"
        statuses = []

        def call():
            r = requests.get(url, proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=20)
            statuses.append(r.status_code)

        first = threading.Thread(target=call)
        first.start()
        self.wait_until(lambda: self.budget(proxy, "one")["frozen"] == 1, what="the first call at the vendor")
        call()  # queued ~2.5 s behind it, longer than both client deadlines
        first.join(20)
        self.assertEqual(statuses, [200, 200])
        self.assertEqual(self.budget(proxy, "one")["queued"], 0)

    def test_a_vendor_too_slow_to_answer_is_a_504_and_charges_nothing(self):
        self.add_account("scraperapi", "SA-KEY")
        budget = {"id": "b", "vendor": "scraperapi", "limit": 100}
        proxy = self.start_proxy(self.config_with([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], [budget],
                                                  limits={"upstream_response_s": 1}))
        s = self.session(proxy)
        fast = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"
        self.assertEqual(s.get(fast, timeout=10).status_code, 200)  # this connection's deadline, extended below
        used = self.budget(proxy, "b")["used"]
        self.assertGreater(used, 0)
        started = time.monotonic()
        r = s.get(fast + "&mock_sleep_ms=3000", timeout=10)
        waited = time.monotonic() - started
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (504, "upstream_timeout"))
        self.assertGreater(waited, 0.9)
        self.assertLess(waited, 2.5)  # the deadline, not the vendor's 3 s
        b = self.budget(proxy, "b")
        self.assertEqual((b["frozen"], b["used"]), (0, used))  # nothing for the call that timed out
        # Calls that answer within the deadline keep working, on a fresh upstream connection.
        for _ in range(3):
            self.assertEqual(s.get(fast, timeout=10).status_code, 200)
        self.assertEqual(self.budget(proxy, "b")["used"], 4 * used)

    def test_unregistered_keys_and_injection(self):
        self.add_account("scraperapi", "SA-KEY")
        self.add_account("neuji", "NJ-SECRET")
        accounts = [{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"},
                    {"id": "nj", "vendor": "neuji", "api_key": "NJ-SECRET", "inject": True}]
        proxy = self.start_proxy(self.config_with(accounts, unregistered_keys="refuse"))
        s = self.session(proxy)
        r = s.get("http://api.scraperapi.com/?api_key=OTHER&url=https://example.com/", timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (403, "unregistered_key"))
        r = s.get("http://api.neuji.com/v1/search", timeout=10)  # no key: the account supplies it
        self.assertEqual(r.status_code, 200)
        self.assertEqual(Decimal(self.vendor_account("NJ-SECRET")["billed"]), 2)
        log = proxy.wait_for_log("account=nj")
        self.assertNotIn("NJ-SECRET", log)
        self.assertNotIn("SA-KEY", log)
        self.assertNotIn("NJ-SECRET", json.dumps(self.admin_get(proxy, "/api/v1/accounts")))


if __name__ == "__main__":
    harness.main()
