#!/usr/bin/env python3
"""The usage page (SPEC §11) in Debian's headless Chromium, driven by Selenium and chromedriver:
log in with a token, and check that every card, the chart and the budget rows say what
/api/v1/usage and /api/v1/budgets say for the same range and filters; the range control and the
filters reload every section; the empty state; a viewer token sees its team only; no console
errors. Screenshots at 360 and 1440 px go to $CREDITGATE_ARTIFACTS (the build folder)."""

import datetime
import json
import os
import sys
import tempfile
import time
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "support"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
import gen_ledger  # noqa: E402
import harness  # noqa: E402
import requests  # noqa: E402
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

VIEWER_TOKEN = "growth-viewer-token"
MICRO = Decimal("0.000001")


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


class UsagePage(harness.VendorTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.artifacts = os.environ.get("CREDITGATE_ARTIFACTS")
        if os.environ.get("CREDITGATE_SANITIZED"):
            cls.artifacts = None  # the plain run writes them; two runs at once would race

    def start_browser(self, width=1440, height=1100):
        options = webdriver.ChromeOptions()
        options.binary_location = "/usr/bin/chromium"
        profile = tempfile.mkdtemp(dir=self.tmp)
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-proxy-server", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                     f"--window-size={width},{height}"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service("/usr/bin/chromedriver", env=harness.clean_env())
        driver = webdriver.Chrome(service=service, options=options)
        self.addCleanup(driver.quit)
        return driver

    def seeded_proxy(self):
        self.add_account("scraperapi", "SA-KEY")
        self.add_account("neuji", "NJ-KEY")
        state_dir = os.path.join(tempfile.mkdtemp(dir=self.tmp), "var")
        config = self.vendor_config(
            state_dir=state_dir,
            vendors=["scraperapi", "neuji", {"use": "crustdata", "usd_per_unit": "0.01"}],
            admin={"listen": "127.0.0.1:0", "token": "test-admin-token",
                   "tokens": [{"name": "growth-lead", "token": VIEWER_TOKEN, "role": "viewer", "team": "growth"}]},
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"},
                      {"id": "nj", "vendor": "neuji", "api_key": "NJ-KEY"}],
            budgets=[{"id": "growth-sa", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 200000,
                      "period": "month", "soft_limit": 0.8},
                     {"id": "eu-1-usd", "scope": {"client": "eu-1"}, "vendor": "*", "unit": "usd", "limit": "500.00",
                      "period": "month"},
                     {"id": "research-nj", "scope": {"team": "research"}, "vendor": "neuji", "limit": 100000},
                     {"id": "all-crust", "vendor": "crustdata", "limit": 1000}])
        first = self.start_proxy(config)
        first.close()  # its ledger exists now, at this binary's schema
        # Seventy days of history that ends ten days ago: the last 7 days have no calls.
        vendors = {k: gen_ledger.VENDORS[k] for k in ("scraperapi", "neuji")}
        end_day = (today() - datetime.date(1970, 1, 1)).days - 10
        gen_ledger.seed(os.path.join(state_dir, "creditgate.db"), rows=4000, days=70, seed_value=7,
                        client_count=2, vendors=vendors, today_day=end_day)
        # gen_ledger names clients client-00/01 in teams growth/research: map them to ours.
        import sqlite3
        db = sqlite3.connect(os.path.join(state_dir, "creditgate.db"))
        with db:
            for table in ("calls", "usage_daily"):
                db.execute(f"UPDATE {table} SET client = 'eu-1' WHERE client = 'client-00'")
                db.execute(f"UPDATE {table} SET client = 'us-1' WHERE client = 'client-01'")
        db.close()
        return self.start_proxy(config)

    def api(self, proxy, path, token="test-admin-token"):
        r = requests.get(f"http://{proxy.admin_addr}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        r.raise_for_status()
        return json.loads(r.text, parse_float=Decimal)

    def usage(self, proxy, days, group_by, token="test-admin-token", **filters):
        to = today()
        frm = to - datetime.timedelta(days=days - 1)
        query = "&".join([f"from={frm}", f"to={to}", f"group_by={group_by}"] + [f"{k}={v}" for k, v in filters.items() if v])
        return self.api(proxy, f"/api/v1/usage?{query}", token)["rows"]

    # ---- the page ----
    def wait_loaded(self, driver, previous=None):
        WebDriverWait(driver, 15).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-loaded") not in (None, "", previous))
        return driver.find_element(By.TAG_NAME, "body").get_attribute("data-loaded")

    def login(self, driver, proxy, token):
        driver.get(f"http://{proxy.admin_addr}/")
        field = driver.find_element(By.ID, "token")
        label = driver.find_element(By.CSS_SELECTOR, "label[for=token]")
        self.assertEqual(label.text, "Admin token")
        self.assertEqual(field.get_attribute("type"), "password")
        field.send_keys(token)
        driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
        loaded = self.wait_loaded(driver)
        self.assertNotIn(token, driver.current_url)
        return loaded

    def value(self, driver, element_id):
        return driver.find_element(By.ID, element_id).get_attribute("data-value")

    def click_range(self, driver, days, loaded):
        driver.find_element(By.CSS_SELECTOR, f'.range button[data-days="{days}"]').click()
        return self.wait_loaded(driver, loaded)

    def check_matches_api(self, driver, proxy, days, token="test-admin-token", team="", client="", vendor=""):
        """The cards, the chart's points and the budget rows against the API for the same question."""
        rows = self.usage(proxy, days, "vendor", token, team=team, client=client, vendor=vendor)
        requests_total = sum(r["requests"] for r in rows)
        self.assertEqual(int(self.value(driver, "c-requests")), requests_total)
        succeeded = sum(r["succeeded"] for r in rows)
        answered = succeeded + sum(r["failed"] for r in rows)
        success = self.value(driver, "c-success")
        self.assertEqual(success, f"{Decimal(succeeded) / answered:.4f}" if answered else "")
        vendors = {r["vendor"] for r in rows}
        if vendor or len(vendors) == 1:
            expected = sum((Decimal(r["credits"]) for r in rows), Decimal(0))
        else:
            expected = sum((Decimal(r["cost_usd"]) for r in rows), Decimal(0))
        self.assertEqual(Decimal(self.value(driver, "c-credits")).quantize(MICRO), expected.quantize(MICRO))
        if answered:
            weighted = sum(Decimal(str(r["avg_latency_ms"])) * (r["succeeded"] + r["failed"]) for r in rows) / answered
            self.assertAlmostEqual(float(self.value(driver, "c-latency")), float(weighted), delta=0.1)
        # The trend against the previous equal period.
        prev_to = today() - datetime.timedelta(days=days)
        prev_from = prev_to - datetime.timedelta(days=days - 1)
        q = "&".join([f"from={prev_from}", f"to={prev_to}", "group_by="] +
                     [f"{k}={v}" for k, v in (("team", team), ("client", client), ("vendor", vendor)) if v])
        prev = sum(r["requests"] for r in self.api(proxy, f"/api/v1/usage?{q}", token)["rows"])
        trend = driver.find_element(By.ID, "c-trend").get_attribute("data-value")
        self.assertEqual(trend, f"{(requests_total - prev) * 100 / prev:.1f}" if prev else "")
        # The chart: one point a day, each the day's requests.
        points = json.loads(driver.find_element(By.ID, "chart").get_attribute("data-points"))
        self.assertEqual(len(points), days)
        by_day = {r["day"]: r["requests"] for r in self.usage(proxy, days, "day", token, team=team, client=client, vendor=vendor)}
        self.assertEqual({d: v for d, v in points if v}, {d: v for d, v in by_day.items() if v})
        marks = driver.find_elements(By.CSS_SELECTOR, "#chart .x-mark")
        self.assertLessEqual(len(marks), 4)
        # Budget rows: used, frozen and limit as /api/v1/budgets has them.
        budgets = {b["id"]: b for b in self.api(proxy, "/api/v1/budgets", token)["budgets"]}
        shown = driver.find_elements(By.CSS_SELECTOR, "#budgets tbody tr[data-budget]")
        self.assertTrue(shown)
        for row in shown:
            b = budgets[row.get_attribute("data-budget")]
            self.assertEqual(Decimal(row.get_attribute("data-used")), Decimal(b["used"]))
            self.assertEqual(Decimal(row.get_attribute("data-limit")), Decimal(b["limit"]))
            self.assertEqual(Decimal(row.get_attribute("data-frozen")), Decimal(b["frozen"]))
        return requests_total

    def screenshots(self, driver, name):
        if not self.artifacts:
            return
        os.makedirs(self.artifacts, exist_ok=True)
        for width in (360, 1440):
            driver.set_window_size(width, 2600)
            time.sleep(0.6)  # the chart redraws for the new width
            driver.save_screenshot(os.path.join(self.artifacts, f"usage-page-{name}-{width}.png"))
        driver.set_window_size(1440, 1100)
        time.sleep(0.4)

    def severe_console_lines(self, driver):
        return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]

    def test_admin_sees_everything_and_numbers_match(self):
        proxy = self.seeded_proxy()
        driver = self.start_browser()
        loaded = self.login(driver, proxy, "test-admin-token")
        # 30 days by default: ten days of history fall in it.
        self.assertEqual(driver.find_element(By.CSS_SELECTOR, '.range button[aria-pressed="true"]').get_attribute("data-days"), "30")
        self.assertEqual(driver.find_element(By.CSS_SELECTOR, "#usage h1").text, "API Usage")
        self.assertIn("Track request volume, success rate, and credit consumption.", driver.page_source)
        self.assertGreater(self.check_matches_api(driver, proxy, 30), 0)
        self.assertFalse(driver.find_element(By.ID, "accounts-panel").get_attribute("hidden"))
        accounts = driver.find_elements(By.CSS_SELECTOR, "#accounts tbody tr[data-account]")
        # Every account the API lists, but "unregistered" entries that hold nothing yet.
        listed = {a["id"] for a in self.api(proxy, "/api/v1/accounts")["accounts"]
                  if a["id"] != "unregistered" or a["remaining"] is not None or a["frozen"] != 0 or a["drift"] != 0}
        self.assertEqual({a.get_attribute("data-account") for a in accounts}, listed)
        self.assertLessEqual({"sa", "nj"}, listed)

        # 7 days: nothing in them yet, the empty state.
        loaded = self.click_range(driver, 7, loaded)
        self.assertIn("No usage data", driver.find_element(By.ID, "chart").text)
        self.assertIn("No requests found for this period.", driver.find_element(By.ID, "chart").text)
        self.assertEqual(self.value(driver, "c-requests"), "0")
        self.screenshots(driver, "empty")

        # Calls today through the proxy, then the sections reload with them.
        s = requests.Session()
        s.trust_env = False
        s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        self.addCleanup(s.close)
        for _ in range(3):
            self.assertEqual(s.get("http://api.scraperapi.com/?api_key=SA-KEY&url=https://amazon.com/", timeout=10).status_code, 200)
        s.get("http://api.neuji.com/v1/search?fanout=1", headers={"Authorization": "Bearer NJ-KEY"}, timeout=10)
        self.wait_until(lambda: sum(r["requests"] for r in self.usage(proxy, 1, "")) == 4, what="the calls in the ledger")
        loaded = self.click_range(driver, 90, loaded)
        self.check_matches_api(driver, proxy, 90)
        loaded = self.click_range(driver, 7, loaded)
        self.assertEqual(self.check_matches_api(driver, proxy, 7), 4)
        self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "#chart .last").__len__(), 1)

        # Filters reload every section: vendor, then team and client.
        loaded = self.click_range(driver, 30, loaded)
        Select(driver.find_element(By.ID, "f-vendor")).select_by_value("scraperapi")
        loaded = self.wait_loaded(driver, loaded)
        self.check_matches_api(driver, proxy, 30, vendor="scraperapi")
        budget_ids = {r.get_attribute("data-budget") for r in driver.find_elements(By.CSS_SELECTOR, "#budgets tbody tr[data-budget]")}
        self.assertEqual(budget_ids, {"growth-sa", "eu-1-usd"})
        self.assertEqual(driver.find_element(By.ID, "c-cycle").get_attribute("data-budget"), "growth-sa")
        Select(driver.find_element(By.ID, "f-vendor")).select_by_value("")
        loaded = self.wait_loaded(driver, loaded)
        Select(driver.find_element(By.ID, "f-team")).select_by_value("research")
        loaded = self.wait_loaded(driver, loaded)
        self.check_matches_api(driver, proxy, 30, team="research")
        clients = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "f-client")).options]
        self.assertEqual(clients, ["", "us-1"])
        Select(driver.find_element(By.ID, "f-team")).select_by_value("")
        loaded = self.wait_loaded(driver, loaded)
        Select(driver.find_element(By.ID, "f-client")).select_by_value("eu-1")
        loaded = self.wait_loaded(driver, loaded)
        self.check_matches_api(driver, proxy, 30, client="eu-1")
        self.assertEqual(driver.find_element(By.ID, "c-cycle").get_attribute("data-budget"), "eu-1-usd")
        Select(driver.find_element(By.ID, "f-client")).select_by_value("")
        loaded = self.wait_loaded(driver, loaded)

        # The chart's switch, and the live strip.
        driver.find_element(By.CSS_SELECTOR, '.switch button[data-measure="usd"]').click()
        loaded = self.wait_loaded(driver, loaded)
        self.assertIn("Spend per day", driver.find_element(By.ID, "chart-title").text)
        self.assertEqual(driver.find_element(By.CSS_SELECTOR, '.switch button[data-measure="credits"]').get_attribute("disabled"), "true")
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "live-flight").text == "0")
        self.screenshots(driver, "admin")
        self.assertEqual(self.severe_console_lines(driver), [])

        # Every control is labelled and reachable by keyboard.
        for select_id in ("f-team", "f-client", "f-vendor"):
            self.assertTrue(driver.find_element(By.ID, select_id).find_element(By.XPATH, "ancestor::label").text)
        for b in driver.find_elements(By.CSS_SELECTOR, ".range button, .switch button"):
            self.assertTrue(b.text.strip())
            self.assertNotEqual(b.get_attribute("tabindex"), "-1")

    def test_viewer_sees_only_its_team(self):
        proxy = self.seeded_proxy()
        driver = self.start_browser()
        self.login(driver, proxy, VIEWER_TOKEN)
        teams = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "f-team")).options]
        self.assertEqual(teams, ["growth"])
        clients = [o.get_attribute("value") for o in Select(driver.find_element(By.ID, "f-client")).options]
        self.assertEqual(clients, ["", "eu-1"])
        self.assertEqual(driver.find_element(By.ID, "accounts-panel").get_attribute("hidden"), "true")
        budget_ids = {r.get_attribute("data-budget") for r in driver.find_elements(By.CSS_SELECTOR, "#budgets tbody tr[data-budget]")}
        self.assertEqual(budget_ids, {"growth-sa", "eu-1-usd"})
        self.assertGreater(self.check_matches_api(driver, proxy, 30, token=VIEWER_TOKEN, team="growth"), 0)
        # The viewer's numbers are its team's: the admin's team filter gives the same.
        growth = sum(r["requests"] for r in self.usage(proxy, 30, "", team="growth"))
        self.assertEqual(int(self.value(driver, "c-requests")), growth)
        self.assertNotIn("us-1", driver.page_source)
        self.assertNotIn("research", driver.find_element(By.ID, "usage").text)
        self.screenshots(driver, "viewer")
        self.assertEqual(self.severe_console_lines(driver), [])
        # The viewer's token may not do what an admin does.
        r = requests.post(f"http://{proxy.admin_addr}/api/v1/reload", headers={"Authorization": f"Bearer {VIEWER_TOKEN}"}, timeout=5)
        self.assertEqual((r.status_code, r.json()["error"]["code"]), (403, "forbidden"))
        self.assertIn("token=growth-lead", proxy.log())
        self.assertNotIn(VIEWER_TOKEN, proxy.log())

    def test_wrong_token_and_static_files(self):
        proxy = self.seeded_proxy()
        driver = self.start_browser()
        driver.get(f"http://{proxy.admin_addr}/")
        driver.find_element(By.ID, "token").send_keys("not-the-token")
        driver.find_element(By.CSS_SELECTOR, "#login button[type=submit]").click()
        WebDriverWait(driver, 10).until(lambda d: d.find_element(By.ID, "login-error").is_displayed())
        self.assertIn("not valid", driver.find_element(By.ID, "login-error").text)
        # The files: types, ETags, gzip, 304, no token needed, and nothing loaded from elsewhere.
        base = f"http://{proxy.admin_addr}"
        for path, kind in (("/", "text/html"), ("/page.js", "text/javascript"), ("/page.css", "text/css")):
            r = requests.get(base + path, headers={"Accept-Encoding": "gzip"}, timeout=5)
            self.assertEqual(r.status_code, 200)
            self.assertTrue(r.headers["Content-Type"].startswith(kind))
            self.assertEqual(r.headers.get("Content-Encoding"), "gzip")
            etag = r.headers["ETag"]
            again = requests.get(base + path, headers={"If-None-Match": etag}, timeout=5)
            self.assertEqual((again.status_code, again.content), (304, b""))
            plain = requests.get(base + path, headers={"Accept-Encoding": "identity"}, timeout=5)
            self.assertNotIn("Content-Encoding", plain.headers)
            self.assertEqual(plain.content, r.content)
            self.assertNotIn("http://", plain.text.replace("http://www.w3.org/2000/svg", ""))
            self.assertNotIn("https://", plain.text)
        self.assertIn("default-src 'self'", requests.get(base + "/", timeout=5).headers["Content-Security-Policy"])


if __name__ == "__main__":
    harness.main()
