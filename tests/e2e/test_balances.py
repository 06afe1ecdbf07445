#!/usr/bin/env python3
"""Balance polling through the real binary against the mock vendors' balance endpoints: every
launch vendor's reading (MultiCart's envelope, Helius's admin host, Neuji's cents), an exhausted
account reopened by a poll after a refill, failures that keep the last reading, min_interval_s."""

import os
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402


class Balances(harness.VendorTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vendors_dir = harness.fast_poll_vendors(os.path.join(cls.tmp, "vendors"))

    def accounts(self, proxy):
        return {a["id"]: a for a in self.admin_get(proxy, "/api/v1/accounts")["accounts"]}

    def wait_for_account(self, proxy, account_id, predicate, what, timeout=10.0):
        seen = {}

        def check():
            seen["a"] = self.accounts(proxy)[account_id]
            return predicate(seen["a"])
        try:
            self.wait_until(check, timeout, what)
        except AssertionError:
            raise AssertionError(f"{what}: last seen {seen.get('a')}")
        return seen["a"]

    def config(self, accounts, **overrides):
        return self.vendor_config(vendors_dir=self.vendors_dir, accounts=accounts, **overrides)

    def test_every_launch_vendor_is_read_exactly(self):
        self.add_account("scraperapi", "SA-KEY", credits=100000, used=4021)
        self.add_account("multicart", "MC-KEY", credits=10000, used=342, frozen=8)
        self.add_account("crustdata", "CD-KEY", credits="9406.37")
        self.add_account("helius", "HE-KEY", credits=1000000, used=187655)
        self.add_account("neuji", "NJ-KEY", credits=4250)
        proxy = self.start_proxy(self.config([
            {"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"},
            {"id": "mc", "vendor": "multicart", "api_key": "MC-KEY"},
            {"id": "cd", "vendor": "crustdata", "api_key": "CD-KEY"},
            {"id": "he", "vendor": "helius", "api_key": "HE-KEY", "params": {"project_id": "p-1"}},
            {"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY"},
        ]))
        expected = {"sa": Decimal("95979"), "mc": Decimal("9650"), "cd": Decimal("9406.37"), "he": Decimal("812345"),
                    "nj": Decimal("4250")}
        for account_id, remaining in expected.items():
            a = self.wait_for_account(proxy, account_id, lambda a: a["source"] == "poll", f"a poll of {account_id}")
            self.assertEqual(a["remaining"], remaining, account_id)
            self.assertIsNone(a["poll_error"], account_id)
            self.assertIsNotNone(a["updated_at"])
        for key in ("SA-KEY", "MC-KEY", "CD-KEY", "HE-KEY", "NJ-KEY"):
            self.assertGreaterEqual(self.vendor_account(key)["polls"], 1, key)
        # Readings are what admission uses: an account's remaining drops as calls settle.
        s = requests.Session()
        s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        r = s.get("http://api.neuji.com/v1/search?q=x", headers={"Authorization": "Bearer NJ-KEY"}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(self.accounts(proxy)["nj"]["remaining"], Decimal("4248"))
        s.close()
        # No key anywhere in the log.
        for key in ("SA-KEY", "MC-KEY", "CD-KEY", "HE-KEY", "NJ-KEY"):
            self.assertNotIn(key, proxy.log())

    def test_an_exhausted_account_is_reopened_by_a_poll_after_a_refill(self):
        self.add_account("scraperapi", "SA-KEY", credits=10)
        proxy = self.start_proxy(self.config([{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY", "poll_interval_s": 1}]))
        self.wait_for_account(proxy, "sa", lambda a: a["remaining"] == Decimal("10"), "the first poll")
        # Someone else spends the plan at the vendor (whose balance endpoint hiccups meanwhile, so
        # that no poll tells us first); our next call meets its out-of-credit answer.
        self.add_account("scraperapi", "SA-KEY", used=10, balance_mode="error")
        s = requests.Session()
        s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        url = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"
        r = s.get(url, timeout=10)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.headers.get("X-Creditgate-Error"), "upstream_credits_exhausted")
        self.assertTrue(self.accounts(proxy)["sa"]["exhausted"])
        calls = self.vendor_account("SA-KEY")["calls"]
        r = s.get(url, timeout=10)
        self.assertEqual(r.status_code, 402)
        self.assertEqual(r.json()["error"]["code"], "upstream_credits_exhausted")
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], calls)  # refused here, never sent
        # The plan is topped up at the vendor: a poll sees it and the account opens again.
        self.add_account("scraperapi", "SA-KEY", credits=1000, balance_mode="ok")
        a = self.wait_for_account(proxy, "sa", lambda a: not a["exhausted"], "a poll that clears the mark", timeout=15)
        self.assertEqual(a["remaining"], Decimal("990"))
        r = s.get(url, timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Cost"]), (200, "1"))
        s.close()

    def test_failing_balance_endpoints_keep_the_last_reading(self):
        self.add_account("crustdata", "CD-KEY", credits=50)
        self.add_account("helius", "HE-KEY", credits=700)
        proxy = self.start_proxy(self.config(
            [{"id": "cd", "vendor": "crustdata", "api_key": "CD-KEY", "poll_interval_s": 1},
             {"id": "he", "vendor": "helius", "api_key": "HE-KEY", "poll_interval_s": 1, "params": {"project_id": "p"}}],
            limits={"upstream_response_s": 1}))
        self.wait_for_account(proxy, "cd", lambda a: a["source"] == "poll", "the first poll of cd")
        self.wait_for_account(proxy, "he", lambda a: a["source"] == "poll", "the first poll of he")
        self.add_account("crustdata", "CD-KEY", balance_mode="garbage", credits=1)
        self.add_account("helius", "HE-KEY", balance_mode="slow", credits=1)
        cd = self.wait_for_account(proxy, "cd", lambda a: a["poll_error"], "a poll error for garbage")
        self.assertIn("not JSON", cd["poll_error"])
        self.assertEqual(cd["remaining"], Decimal("50"))
        he = self.wait_for_account(proxy, "he", lambda a: a["poll_error"], "a poll error for a timeout")
        self.assertIn("no answer within 1 s", he["poll_error"])
        self.assertEqual(he["remaining"], Decimal("700"))
        # Backing off: with min_interval_s 1, failures are retried after 1, 2, 4 ... s, not every second.
        polls = self.vendor_account("CD-KEY")["polls"]
        time.sleep(3.5)
        self.assertLessEqual(self.vendor_account("CD-KEY")["polls"] - polls, 3)
        # The proxy kept serving meanwhile, and recovers when the vendor does.
        self.assertEqual(requests.get(f"http://{proxy.admin_addr}/healthz", timeout=5).status_code, 200)
        self.add_account("crustdata", "CD-KEY", balance_mode="ok", credits=40)
        cd = self.wait_for_account(proxy, "cd", lambda a: a["poll_error"] is None, "recovery", timeout=15)
        self.assertEqual(cd["remaining"], Decimal("40"))

    def test_polls_respect_the_profile_min_interval(self):
        path = os.path.join(self.vendors_dir, "neuji.json")
        with open(path) as f:
            original = f.read()
        def write(text):
            with open(path, "w") as f:
                f.write(text)
        self.addCleanup(write, original)
        write(original.replace('"min_interval_s": 1', '"min_interval_s": 2'))
        self.add_account("neuji", "NJ-KEY", credits=100)
        proxy = self.start_proxy(self.config([{"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY", "poll_interval_s": 1}]))
        self.wait_for_account(proxy, "nj", lambda a: a["source"] == "poll", "the first poll")
        time.sleep(4.5)
        times = self.vendor_account("NJ-KEY")["poll_times"]
        self.assertGreaterEqual(len(times), 2)
        gaps = [b - a for a, b in zip(times, times[1:])]
        self.assertTrue(all(g >= 1.9 for g in gaps), gaps)  # poll_interval_s 1 is raised to the vendor's 2 s


if __name__ == "__main__":
    harness.main()
