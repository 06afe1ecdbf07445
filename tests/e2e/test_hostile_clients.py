#!/usr/bin/env python3
"""Hostile clients (issue 16): amounts past SPEC §1's range, bodies the proxy cannot price,
mispriced rules under concurrency, framing tricks, slow uploads, a full disk. Nothing is admitted
beyond a budget, every refusal follows one connection rule, and no ledger row is lost."""

import json
import os
import resource
import signal
import socket
import sqlite3
import ssl
import sys
import threading
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

SA = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"
SA_ACCOUNT = {"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}


def run_concurrently(count, call):
    results = [None] * count
    threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, call(i))) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


class HostileClients(harness.VendorTestCase):
    def session(self, proxy, user="eu-1", secret="s3cret-eu"):
        s = requests.Session()
        s.proxies = {"http": proxy.proxy_url(user, secret)}
        self.addCleanup(s.close)
        return s

    def start(self, accounts=(SA_ACCOUNT,), budgets=(), **overrides):
        return self.start_proxy(self.vendor_config(accounts=list(accounts), budgets=list(budgets), **overrides))

    def call(self, proxy, url, **kw):
        with requests.Session() as s:
            s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
            return s.get(url, timeout=30, **kw)

    def raw(self, proxy, data, timeout=10):
        s = socket.create_connection(("127.0.0.1", proxy.proxy_port), timeout=timeout)
        self.addCleanup(s.close)
        s.sendall(data)
        return s

    def auth(self, user="eu-1", secret="s3cret-eu"):
        return f"Proxy-Authorization: {harness.basic(user, secret)}\r\n"

    # ---- bug 1: a client's max_cost overflowed admission ----

    def test_a_max_cost_out_of_range_is_refused_and_a_small_budget_stays_exact(self):
        self.add_account("scraperapi", "SA-KEY", concurrency_limit=1000)
        team = {"id": "team", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 100}
        proxy = self.start(budgets=[team])
        self.assertEqual(self.call(proxy, SA).status_code, 200)  # 1 used
        r = self.call(proxy, SA + "&max_cost=9223372036854.775807")
        self.assertEqual((r.status_code, r.json()["error"]["code"]), (400, "bad_request"))
        self.assertIn("max_cost", r.json()["error"]["message"])
        # 40 calls reserving 50 each against the 99 left: exactly one fits at a time.
        results = run_concurrently(40, lambda i: self.call(proxy, SA + f"&max_cost=50&mock_sleep_ms=500&n={i}").status_code)
        self.assertEqual(results.count(200), 1, results)
        self.assertEqual(results.count(402), 39, results)
        b = self.budget(proxy, "team")
        self.assertEqual((Decimal(b["used"]), Decimal(b["frozen"])), (2, 0))
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], 2)

    def test_a_shadow_budget_full_of_extreme_reservations_survives_kill_9(self):
        # Bug 1: two such calls made a shadow budget's frozen negative; with their rows pending,
        # a kill -9 left a ledger whose SUM overflowed, and creditgate would not start again.
        # A key no account names: no known balance stands in the way (only the shadow budget counts).
        self.add_account("scraperapi", "SA-FREE", concurrency_limit=1000)
        shadow = {"id": "shadow", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 100, "mode": "shadow"}
        proxy = self.start(budgets=[shadow])
        huge = "http://api.scraperapi.com/?api_key=SA-FREE&url=https://example.com/&max_cost=999999999999&mock_sleep_ms=4000"
        def doomed():  # its proxy is killed under it
            try:
                self.call(proxy, huge)
            except requests.RequestException:
                pass
        threads = [threading.Thread(target=doomed) for _ in range(12)]
        for t in threads:
            t.start()
        self.wait_until(lambda: Decimal(self.budget(proxy, "shadow")["frozen"]) > 0, what="calls in flight")
        self.wait_until(lambda: len(self.budget(proxy, "shadow")) and
                        Decimal(self.budget(proxy, "shadow")["frozen"]) >= Decimal("9223372036854"), what="all 12 in flight")
        b = self.budget(proxy, "shadow")
        self.assertEqual(b["frozen"], Decimal("9223372036854.775807"))  # past int64: shown saturated, never negative
        time.sleep(0.3)  # the pending rows reach the ledger (flush_ms 50)
        proxy.proc.kill()
        proxy.proc.wait(10)
        for t in threads:
            t.join(30)
        with open(proxy.config_path) as f:
            config = json.load(f)
        again = self.start_proxy(config)
        b = self.budget(again, "shadow")
        self.assertEqual(b["used"], Decimal("9223372036854.775807"))  # 12 pending rows at 10^12 each, saturated
        self.assertEqual(Decimal(b["frozen"]), 0)

    # ---- bug 5 and the amounts of SPEC §1: what cannot be priced is never sent ----

    def test_bodies_that_do_not_parse_are_unpriceable(self):
        self.add_account("helius", "HL-KEY")
        proxy = self.start(accounts=[{"id": "hl", "vendor": "helius", "api_key": "HL-KEY"}],
                           budgets=[{"id": "hl", "vendor": "helius", "limit": 50}])
        s = self.session(proxy)
        for body in ('{"jsonrpc":"2.0","id":1,"method":"getTransactionsForAddress","params":[1e400]}',
                     '{"jsonrpc":"2.0","id":1,"method":"getTransactionsForAddress","params":["\\ud800"]}',
                     '[{"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":[NaN]}]',
                     '{"jsonrpc":"2.0","id":1,"method":"getProgramAccounts","params":[Infinity]}',
                     '{"method":"getBalance","method":"getTransactionsForAddress"}'):
            r = s.post("http://mainnet.helius-rpc.com/?api-key=HL-KEY", data=body,
                       headers={"Content-Type": "application/json"}, timeout=10)
            self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (400, "unpriceable_request"), body)
        self.assertEqual(self.vendor_account("HL-KEY")["calls"], 0)
        r = s.post("http://mainnet.helius-rpc.com/?api-key=HL-KEY", json={"jsonrpc": "2.0", "id": 1, "method": "getBlock"},
                   timeout=10)  # the same connection still serves
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Cost"]), (200, "10"))

    def test_per_param_amounts_out_of_range_are_refused(self):
        self.add_account("crustdata", "CD-KEY")
        proxy = self.start(accounts=[{"id": "cd", "vendor": "crustdata", "api_key": "CD-KEY"}])
        s = self.session(proxy)
        for limit in ("3.07e14", "-5", "many"):
            r = s.get(f"http://api.crustdata.com/person/search?limit={limit}", headers={"Authorization": "Bearer CD-KEY"},
                      timeout=10)
            self.assertEqual((r.status_code, r.headers["X-Creditgate-Error"]), (400, "bad_request"), limit)
        self.assertEqual(self.vendor_account("CD-KEY")["calls"], 0)

    # ---- drift under concurrency is bounded (SPEC §5) ----

    def test_a_mispriced_rule_overspends_only_by_the_calls_in_flight(self):
        # Before: with actual above the estimate, 50 concurrent calls took used to 2500 of 100.
        self.add_account("scraperapi", "SA-KEY", concurrency_limit=1000)
        proxy = self.start(budgets=[{"id": "b", "vendor": "scraperapi", "limit": 200}])
        r = self.call(proxy, SA + "&mock_cost=50")  # the vendor now charges 50 where the rule says 1
        self.assertEqual(r.headers["X-Creditgate-Cost"], "50")
        results = run_concurrently(50, lambda i: self.call(proxy, SA + f"&mock_cost=50&mock_sleep_ms=300&n={i}").status_code)
        self.assertEqual(results.count(200), 3, results)  # each reserves the 50 it will cost: 3 fit in 150
        b = self.budget(proxy, "b")
        self.assertEqual((Decimal(b["used"]), Decimal(b["frozen"])), (200, 0))
        self.assertEqual(Decimal(self.vendor_account("SA-KEY")["billed"]), 200)

    # ---- routing and framing tricks ----

    def test_a_vendor_host_on_another_port_is_not_intercepted(self):
        proxy = self.start()
        s = self.raw(proxy, f"CONNECT api.scraperapi.com:22 HTTP/1.1\r\nHost: api.scraperapi.com:22\r\n{self.auth()}\r\n".encode())
        status, headers, body, _ = harness.read_response(s)
        self.assertEqual((status, json.loads(body)["error"]["code"]), (403, "destination_not_allowed"))

    def test_two_host_or_proxy_authorization_fields_are_refused(self):
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start()
        target = f"GET {SA} HTTP/1.1\r\n"
        for extra in ("Host: api.scraperapi.com\r\nHost: evil.example\r\n" + self.auth(),
                      "Host: api.scraperapi.com\r\n" + self.auth() + self.auth("us-1", "s3cret-us"),
                      "Host: api.scraperapi.com\r\n" + self.auth() + self.auth()):
            s = self.raw(proxy, (target + extra + "\r\n").encode())
            status, headers, body, _ = harness.read_response(s)
            self.assertEqual((status, json.loads(body)["error"]["code"]), (400, "bad_request"), extra)
        # Inside an intercepted tunnel too.
        s = self.raw(proxy, f"CONNECT api.scraperapi.com:443 HTTP/1.1\r\nHost: api.scraperapi.com\r\n{self.auth()}\r\n".encode())
        self.assertEqual(harness.read_response(s)[0], 200)
        ca = os.path.join(proxy.config_path.rsplit("/", 1)[0], "var", "ca", "creditgate-ca.pem")
        context = ssl.create_default_context(cafile=ca)
        tls = context.wrap_socket(s, server_hostname="api.scraperapi.com")
        tls.sendall(b"GET /?api_key=SA-KEY&url=https://example.com/ HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
                    b"Host: api.scraperapi.com\r\n\r\n")
        status, headers, body, _ = harness.read_response(tls)
        self.assertEqual((status, json.loads(body)["error"]["code"]), (400, "bad_request"))
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], 0)

    def test_transfer_codings_other_than_chunked_are_refused(self):
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start()
        for coding in ("gzip, chunked", "chunked, chunked", "gzip"):
            s = self.raw(proxy, f"POST {SA} HTTP/1.1\r\nHost: api.scraperapi.com\r\n{self.auth()}"
                                f"Transfer-Encoding: {coding}\r\n\r\n5\r\nhello\r\n0\r\n\r\n".encode())
            status, headers, body, _ = harness.read_response(s)
            self.assertEqual((status, json.loads(body)["error"]["code"]), (400, "bad_request"), coding)
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], 0)

    # ---- a slow upload has a deadline ----

    def test_a_slow_body_gets_408_and_releases_its_reservation(self):
        self.add_account("helius", "HL-KEY")
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start(accounts=[SA_ACCOUNT, {"id": "hl", "vendor": "helius", "api_key": "HL-KEY"}],
                           budgets=[{"id": "all", "vendor": "helius", "limit": 1000}],
                           limits={"request_body_s": 1, "client_idle_s": 5})
        body = b'{"jsonrpc":"2.0","id":1,"method":"getSlot","params":["' + b"x" * 40 + b'"]}'
        # Buffered (Helius prices its body): nothing reaches the vendor; 408, then the connection closes.
        s = self.raw(proxy, f"POST http://mainnet.helius-rpc.com/?api-key=HL-KEY HTTP/1.1\r\nHost: mainnet.helius-rpc.com\r\n"
                            f"{self.auth()}Content-Length: {len(body)}\r\n\r\n".encode())
        started = time.monotonic()
        for i in range(0, 30, 10):  # a trickle, each piece well within client_idle_s
            s.sendall(body[i:i + 10])
            time.sleep(0.4)
        status, headers, answer, _ = harness.read_response(s)
        self.assertEqual((status, json.loads(answer)["error"]["code"]), (408, "request_timeout"))
        self.assertEqual(headers["connection"], ["close"])
        self.assertLess(time.monotonic() - started, 3)
        self.assertEqual(self.vendor_account("HL-KEY")["calls"], 0)
        # Streamed (ScraperAPI does not read bodies): the vendor had the head; the call is aborted.
        s = self.raw(proxy, f"POST {SA}&mock_sleep_ms=10 HTTP/1.1\r\nHost: api.scraperapi.com\r\n{self.auth()}"
                            f"Content-Length: 1000\r\n\r\n".encode())
        s.sendall(b"a" * 10)
        s.settimeout(5)
        started = time.monotonic()
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
        self.assertLess(time.monotonic() - started, 3)  # closed at the deadline, not at client_idle_s
        self.wait_until(lambda: Decimal(self.budget(proxy, "all")["frozen"]) == 0, what="nothing frozen")
        proxy.wait_for_log("decision=client_aborted")

    # ---- one refusal rule ----

    def test_every_refusal_keeps_or_closes_the_connection_by_the_same_rule(self):
        # Before: a 402 on a small POST closed the connection while a 407 on the same POST kept it.
        self.add_account("scraperapi", "SA-KEY")
        proxy = self.start(budgets=[{"id": "none", "vendor": "scraperapi", "limit": 0}])
        post = f"POST {SA} HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
        for who in ("", self.auth()):  # a 407, then a 402
            s = self.raw(proxy, (post + who + "Content-Length: 5\r\n\r\nhello").encode())
            status, headers, _, _ = harness.read_response(s)
            self.assertIn(status, (402, 407))
            self.assertNotIn("connection", headers)
            s.sendall((post + self.auth() + "Content-Length: 3\r\n\r\nabc").encode())  # the same connection
            self.assertEqual(harness.read_response(s)[0], 402)
        # More than 64 KiB still to come: refused and closed, whoever refuses.
        for who in ("", self.auth()):
            s = self.raw(proxy, (post + who + "Content-Length: 100000\r\n\r\n").encode() + b"x" * 1000)
            status, headers, _, _ = harness.read_response(s)
            self.assertEqual(headers.get("connection"), ["close"], status)
        # A chunked body that ends within 64 KiB keeps it.
        s = self.raw(proxy, (post + self.auth() + "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode())
        self.assertEqual(harness.read_response(s)[0], 402)
        s.sendall((post + self.auth() + "Content-Length: 0\r\n\r\n").encode())
        self.assertEqual(harness.read_response(s)[0], 402)

    # ---- fd exhaustion ----

    def test_accept_failures_are_logged_once_in_a_while(self):
        def few_descriptors():
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        proxy = self.start_proxy(self.vendor_config(), preexec_fn=few_descriptors)
        sockets = []
        for _ in range(120):  # past the proxy's 64 descriptors
            try:
                sockets.append(socket.create_connection(("127.0.0.1", proxy.proxy_port), timeout=2))
            except OSError:
                break
        time.sleep(2)
        lines = [l for l in proxy.log().splitlines() if "accept failed" in l]
        self.assertGreaterEqual(len(lines), 1)
        self.assertLessEqual(len(lines), 2, lines)  # was ~20 a second
        for s in sockets:
            s.close()

    # ---- a full disk loses no row ----

    def test_a_full_disk_keeps_every_row(self):
        # Before: stopped while the disk was full, the rows in memory were dropped; the vendor
        # billed calls the ledger never saw.
        self.add_account("scraperapi", "SA-KEY", concurrency_limit=1000)
        config = self.vendor_config(accounts=[SA_ACCOUNT], storage={"kind": "sqlite", "flush_ms": 50, "on_failure": "reject"},
                                    limits={"shutdown_grace_s": 2})
        limit = 300_000

        def small_files():  # a write past 300 kB fails with EFBIG, as on a full disk
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
        proxy = self.start_proxy(config, preexec_fn=small_files)
        statuses = []
        stop = threading.Event()

        def client(k):
            with requests.Session() as s:
                s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
                for i in range(2000):
                    if stop.is_set():
                        return
                    r = s.get(SA + f"{k}/{i}&mock_sleep_ms=20", timeout=10)
                    statuses.append(r.status_code)
                    if statuses.count(503) > 100:
                        stop.set()
        run_concurrently(16, client)
        self.assertGreater(statuses.count(503), 100)
        billed = self.vendor_account("SA-KEY")["calls"]
        self.assertEqual(proxy.terminate(), 0)  # stopped with the disk (nearly always) still full
        # SQLite may find room again just before the stop (a checkpoint frees WAL pages: "ledger
        # writes work again"); then every row is written and nothing needs keeping. Either way
        # no row may be lost.
        spilled = "could not be written at shutdown; kept in" in proxy.log()
        self.assertTrue(spilled or "ledger writes work again" in proxy.log(), proxy.log()[-2000:])
        with open(proxy.config_path) as f:
            config = json.load(f)
        again = self.start_proxy(config)  # a start with room writes them first
        if spilled:
            again.wait_for_log("ledger rows that the last stop could not write")
        self.assertEqual(again.terminate(), 0)
        db = sqlite3.connect(os.path.join(config["state_dir"], "creditgate.db"))
        finished, pending = db.execute("SELECT SUM(finished_at IS NOT NULL), SUM(finished_at IS NULL) FROM calls").fetchone()
        db.close()
        self.assertEqual((finished, pending), (billed, 0))
        self.assertFalse(os.path.exists(os.path.join(config["state_dir"], "creditgate.db.unwritten.jsonl")))


if __name__ == "__main__":
    harness.main()
