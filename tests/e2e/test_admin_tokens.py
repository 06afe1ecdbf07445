#!/usr/bin/env python3
"""Admin and viewer tokens (SPEC §8) through the real admin listener: what a team viewer may read
and what it is refused, budgets and usage narrowed to its team, names (never tokens) in the log."""

import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

LEAD, GROWTH = "lead-token-1", "growth-token-2"


class AdminTokens(harness.VendorTestCase):
    def start(self):
        self.add_account("scraperapi", "SA-KEY")
        config = self.vendor_config(
            vendors=["scraperapi"],
            admin={"listen": "127.0.0.1:0", "token": "test-admin-token",
                   "tokens": [{"name": "lead", "token": LEAD, "role": "admin"},
                              {"name": "growth", "token": GROWTH, "role": "viewer", "team": "growth"}]},
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
            budgets=[{"id": "growth-sa", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 1000},
                     {"id": "eu-1-sa", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "limit": 1000},
                     {"id": "us-1-sa", "scope": {"client": "us-1"}, "vendor": "scraperapi", "limit": 1000},
                     {"id": "everyone", "vendor": "scraperapi", "limit": 1000},
                     {"id": "account-sa", "scope": {"account": "sa"}, "vendor": "scraperapi", "limit": 1000}])
        proxy = self.start_proxy(config)
        for client, secret in (("eu-1", "s3cret-eu"), ("us-1", "s3cret-us")):
            r = requests.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/",
                             proxies={"http": proxy.proxy_url(client, secret)}, timeout=10)
            self.assertEqual(r.status_code, 200)
        self.wait_until(lambda: len(self.get(proxy, "/api/v1/usage?group_by=client", LEAD).json()["rows"]) == 2, what="both rows")
        return proxy

    def get(self, proxy, path, token, method="GET"):
        return requests.request(method, f"http://{proxy.admin_addr}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def test_viewer_reads_its_team_only(self):
        proxy = self.start()
        ids = {b["id"] for b in self.get(proxy, "/api/v1/budgets", GROWTH).json()["budgets"]}
        self.assertEqual(ids, {"growth-sa", "eu-1-sa"})
        all_ids = {b["id"] for b in self.get(proxy, "/api/v1/budgets", LEAD).json()["budgets"]}
        self.assertEqual(len(all_ids), 5)
        rows = self.get(proxy, "/api/v1/usage?group_by=team,client", GROWTH).json()["rows"]
        self.assertEqual([(r["team"], r["client"]) for r in rows], [("growth", "eu-1")])
        self.assertEqual(self.get(proxy, "/api/v1/usage?group_by=client&team=growth", GROWTH).json()["rows"][0]["client"], "eu-1")
        other = self.get(proxy, "/api/v1/usage?team=research", GROWTH)
        self.assertEqual((other.status_code, other.json()["error"]["code"]), (403, "forbidden"))
        csv = self.get(proxy, "/api/v1/usage?group_by=client&format=csv", GROWTH)
        self.assertNotIn("us-1", csv.text)
        self.assertEqual(self.get(proxy, "/api/v1/token", GROWTH).json(), {"name": "growth", "role": "viewer", "team": "growth"})
        for method, path in (("GET", "/metrics"), ("GET", "/api/v1/accounts"), ("GET", "/api/v1/instances"),
                             ("POST", "/api/v1/reload"), ("POST", "/api/v1/accounts/sa/reset")):
            r = self.get(proxy, path, GROWTH, method)
            self.assertEqual((r.status_code, r.json()["error"]["code"]), (403, "forbidden"), path)
            self.assertEqual(self.get(proxy, path, LEAD, method).status_code, 200, path)
        self.assertEqual(self.get(proxy, "/api/v1/budgets", "growth-token-").status_code, 401)
        log = proxy.wait_for_log("token=growth")
        self.assertIn("admin GET /api/v1/budgets 200 token=growth", log)
        self.assertIn("admin POST /api/v1/reload 403 token=growth", log)
        self.assertIn("token=lead", log)
        for secret in (LEAD, GROWTH, "test-admin-token"):
            self.assertNotIn(secret, log)

    def test_viewer_sees_its_reservations_only(self):
        proxy = self.start()
        threads = []
        for client, secret in (("eu-1", "s3cret-eu"), ("us-1", "s3cret-us")):
            t = threading.Thread(target=requests.get, args=("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/&mock_sleep_ms=1500",),
                                 kwargs={"proxies": {"http": proxy.proxy_url(client, secret)}, "timeout": 10})
            t.start()
            threads.append(t)
        self.wait_until(lambda: len(self.get(proxy, "/api/v1/reservations", LEAD).json()["reservations"]) == 2, what="two in flight")
        seen = self.get(proxy, "/api/v1/reservations", GROWTH).json()["reservations"]
        self.assertEqual([r["client"] for r in seen], ["eu-1"])
        for t in threads:
            t.join()


if __name__ == "__main__":
    harness.main()
