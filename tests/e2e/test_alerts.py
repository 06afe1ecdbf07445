#!/usr/bin/env python3
"""Alerts (SPEC §12) through the real binary to a real local webhook receiver: one event per
crossing under 50 concurrent calls, a receiver that fails twice gets it once, a restart sends
nothing again, Slack and JSON bodies, poll errors after three failures, and no URL in the log."""

import json
import os
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

CHEAP_CALL = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"  # 1 credit
FAST = {"CREDITGATE_ALERT_TICK_MS": "100", "CREDITGATE_ALERT_RETRY_S": "0"}


class Receiver:
    """A webhook endpoint on 127.0.0.1: records every POST; the first `fail_first` answer 500."""

    def __init__(self, fail_first=0):
        self.posts, self.attempts, self.fail_first = [], 0, fail_first
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with lock:
                    outer.attempts += 1
                    failing = outer.attempts <= outer.fail_first
                    if not failing:
                        outer.posts.append((self.path, json.loads(body)))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path="/hooks/T000/B000/s3cr3t-path?token=s3cr3t-query"):
        return f"http://127.0.0.1:{self.port}{path}"

    def events(self, kind=None):
        return [body for _, body in self.posts if kind is None or body.get("event") == kind]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Alerts(harness.VendorTestCase):
    def receiver(self, **kw):
        r = Receiver(**kw)
        self.addCleanup(r.close)
        return r

    def config(self, alerts, state_dir=None, **extra):
        config = self.vendor_config(
            vendors=["scraperapi"],
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "team-sa", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 40, "period": "month",
                      "soft_limit": 0.5}],
            alerts=alerts, **extra)
        if state_dir:
            config["state_dir"] = state_dir
        return config

    def spend(self, proxy, calls=50):
        def one(_):
            with requests.Session() as s:
                s.trust_env = False
                s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
                return s.get(CHEAP_CALL, timeout=30).status_code
        with ThreadPoolExecutor(max_workers=calls) as pool:
            return list(pool.map(one, range(calls)))

    def test_one_event_per_crossing_under_fifty_concurrent_calls(self):
        self.add_account("scraperapi", "SA-KEY")
        hook = self.receiver()
        proxy = self.start_proxy(self.config([{"name": "ops", "url": hook.url(), "format": "json"}]), env=FAST)
        codes = self.spend(proxy)
        self.assertEqual((codes.count(200), codes.count(402)), (40, 10))
        self.wait_until(lambda: len(hook.events("soft_limit")) >= 1 and len(hook.events("budget_exhausted")) >= 1,
                        what="both alerts")
        time.sleep(1.0)  # ten more looks: nothing is sent twice
        self.assertEqual(len(hook.events("soft_limit")), 1)
        self.assertEqual(len(hook.events("budget_exhausted")), 1)
        soft = hook.events("soft_limit")[0]
        self.assertEqual((soft["budget"], soft["limit"], soft["unit"], soft["account"]), ("team-sa", 40, "credits", None))
        self.assertGreaterEqual(soft["used"] + soft["frozen"], 20)  # the crossing counts what calls in flight hold
        self.assertTrue(soft["period_end"].endswith("T00:00:00Z"))
        self.assertEqual(hook.posts[0][0], "/hooks/T000/B000/s3cr3t-path?token=s3cr3t-query")
        log = proxy.log()
        self.assertEqual(log.count("alert soft_limit:"), 1)  # the one warn line of SPEC §3
        self.assertIn("budget team-sa passed its soft limit", log)
        self.assertNotIn("s3cr3t", log)
        metrics = requests.get(f"http://{proxy.admin_addr}/metrics", headers={"Authorization": "Bearer test-admin-token"}, timeout=5).text
        self.assertIn('creditgate_alerts_sent_total{kind="soft_limit",result="sent"} 1', metrics)
        self.assertIn('creditgate_budget_soft_limit_reached{budget="team-sa"} 1', metrics)

    def test_a_failing_receiver_gets_it_once_and_a_restart_sends_nothing_again(self):
        self.add_account("scraperapi", "SA-KEY")
        hook = self.receiver(fail_first=2)
        state_dir = os.path.join(tempfile.mkdtemp(dir=self.tmp), "var")
        config = self.config([{"name": "ops", "url": hook.url(), "format": "slack", "on": ["soft_limit"]}], state_dir)
        proxy = self.start_proxy(config, env=FAST)
        codes = self.spend(proxy, 25)
        self.assertEqual(codes.count(200), 25)
        self.wait_until(lambda: len(hook.posts) == 1, timeout=15, what="the third attempt")
        self.assertEqual(hook.attempts, 3)
        self.assertIn("team-sa", hook.posts[0][1]["text"])  # Slack: {"text": ...}
        self.assertEqual(set(hook.posts[0][1]), {"text"})
        metrics = requests.get(f"http://{proxy.admin_addr}/metrics", headers={"Authorization": "Bearer test-admin-token"}, timeout=5).text
        self.assertIn('creditgate_alerts_sent_total{kind="soft_limit",result="failed"} 2', metrics)
        self.assertIn('creditgate_alerts_sent_total{kind="soft_limit",result="sent"} 1', metrics)
        # A reload that changes the budgets builds new books: still past the soft limit, and
        # still said once.
        config["budgets"][0]["limit"] = 41
        with open(proxy.config_path, "w") as f:
            json.dump(config, f)
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/reload", headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 200, r.text)
        time.sleep(1.0)
        self.assertEqual((len(hook.posts), hook.attempts), (1, 3))
        # A graceful stop, a start on the same ledger: the budget is still past its soft limit,
        # and the ledger remembers that this was said.
        proxy.proc.send_signal(signal.SIGTERM)
        proxy.proc.wait(20)
        again = self.start_proxy(config, env=FAST)
        budgets = self.admin_get(again, "/api/v1/budgets")["budgets"]
        self.assertTrue(budgets[0]["soft_limit_reached"])
        time.sleep(1.5)
        self.assertEqual((len(hook.posts), hook.attempts), (1, 3))
        self.assertNotIn("alert soft_limit:", again.log())

    def test_poll_errors_after_three_failures_and_an_exhausted_account(self):
        vendors_dir = harness.fast_poll_vendors(os.path.join(tempfile.mkdtemp(dir=self.tmp), "vendors"))
        self.add_account("scraperapi", "SA-KEY", balance_mode="error")
        hook = self.receiver()
        config = self.config([{"name": "ops", "url": hook.url("/"), "on": ["poll_error", "account_exhausted"]}],
                             vendors_dir=vendors_dir)
        config["accounts"][0]["poll_interval_s"] = 1
        proxy = self.start_proxy(config, env=FAST)
        self.wait_until(lambda: hook.events("poll_error"), timeout=20, what="the poll_error alert")
        event = hook.events("poll_error")[0]
        self.assertEqual(event["account"], "sa")
        self.assertIn("error", event)
        accounts = self.admin_get(proxy, "/api/v1/accounts")["accounts"]
        self.assertIsNotNone(next(a for a in accounts if a["id"] == "sa")["poll_error"])
        # Out of credits at the vendor: the account is marked exhausted, and that is said once.
        self.add_account("scraperapi", "SA-KEY", balance_mode="error", credits=0)
        with requests.Session() as s:
            s.trust_env = False
            s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
            s.get(CHEAP_CALL, timeout=10)
        self.wait_until(lambda: hook.events("account_exhausted"), timeout=10, what="the account_exhausted alert")
        time.sleep(0.5)
        self.assertEqual(len(hook.events("account_exhausted")), 1)
        self.assertEqual(len(hook.events("poll_error")), 1)
        self.assertEqual(hook.events("soft_limit"), [])  # not asked for


if __name__ == "__main__":
    harness.main()
