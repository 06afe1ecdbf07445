#!/usr/bin/env python3
"""The client recipes of config/clients/ through the real proxy: real Scrapy with the downloader
middleware (429s waited out by Retry-After, no page dropped; a 402 stops the spider with the JSON
message), Python requests with creditgate_session(), Node's fetch through creditgate_fetch.mjs."""

import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402

CLIENTS_DIR = os.path.join(harness.ROOT, "config", "clients")
PAGE = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/{}&mock_sleep_ms={}"

SPIDER = textwrap.dedent("""
    import scrapy

    class Pages(scrapy.Spider):
        name = "pages"
        def __init__(self, urls="", **kw):
            super().__init__(**kw)
            self.start_urls = urls.split(" ")
        def parse(self, response):
            yield {"url": response.url, "status": response.status}
""")


class ClientRecipes(harness.VendorTestCase):
    def setUp(self):
        super().setUp()
        self.add_account("scraperapi", "SA-KEY")

    def start(self, budgets):
        proxy = self.start_proxy(self.vendor_config(
            accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}], budgets=budgets))
        return proxy, proxy.proxy_url("eu-1", "s3cret-eu")

    def scrapy(self, proxy_url, urls, concurrency):
        folder = os.path.join(self.tmp, f"scrapy-{len(os.listdir(self.tmp))}")
        os.makedirs(folder)
        with open(os.path.join(folder, "spider.py"), "w") as f:
            f.write(SPIDER)
        items = os.path.join(folder, "items.json")
        env = harness.clean_env(http_proxy=proxy_url, https_proxy=proxy_url, PYTHONPATH=CLIENTS_DIR)
        run = subprocess.run(
            [sys.executable, "-m", "scrapy", "runspider", "spider.py", "-a", "urls=" + " ".join(urls), "-O", items,
             "-s", 'DOWNLOADER_MIDDLEWARES={"creditgate_scrapy.CreditgateMiddleware": 560}',
             "-s", f"CONCURRENT_REQUESTS={concurrency}", "-s", "ROBOTSTXT_OBEY=False", "-s", "TELNETCONSOLE_ENABLED=False",
             "-s", "LOG_LEVEL=INFO"],
            cwd=folder, env=env, capture_output=True, text=True, timeout=120)
        with open(items) as f:
            return json.load(f), run.stderr

    def test_scrapy_waits_out_429s_and_drops_nothing(self):
        proxy, url = self.start([{"id": "one", "vendor": "scraperapi", "max_concurrent": 1}])
        urls = [PAGE.format(i, 150) for i in range(6)]
        items, log = self.scrapy(url, urls, concurrency=6)
        self.assertEqual(sorted(i["url"] for i in items), sorted(urls), log[-3000:])
        self.assertIn("'creditgate/retry/concurrency_limit'", log)  # it did meet the budget
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], 6)

    def test_scrapy_stops_on_budget_exhausted_with_the_message(self):
        proxy, url = self.start([{"id": "small", "vendor": "scraperapi", "limit": 3, "period": "day"}])
        items, log = self.scrapy(url, [PAGE.format(i, 0) for i in range(8)], concurrency=1)
        self.assertEqual(len(items), 3, log[-3000:])
        self.assertIn("creditgate: budget_exhausted: budget small has 0 of 3 credits left", log)
        self.assertIn("'finish_reason': 'creditgate_budget_exhausted'", log)
        self.assertEqual(self.vendor_account("SA-KEY")["calls"], 3)

    def test_requests_session_retries_429_and_raises_on_402(self):
        proxy, url = self.start([{"id": "one", "vendor": "scraperapi", "max_concurrent": 1},
                                 {"id": "small", "vendor": "scraperapi", "limit": 4, "period": "day"}])
        script = textwrap.dedent(f"""
            import concurrent.futures, json, sys
            from creditgate_requests import creditgate_session, BudgetExhausted
            def get(i):
                s = creditgate_session()
                s.trust_env = False
                s.proxies = {{"http": {url!r}}}
                try:
                    return s.get({PAGE!r}.format(i, 150), timeout=60).status_code
                except BudgetExhausted as e:
                    return [e.code, e.budget, e.reset_at is not None, str(e)]
            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                first = list(pool.map(get, range(4)))
            print(json.dumps({{"first": first, "after": get(9)}}))
        """)
        run = subprocess.run([sys.executable, "-c", script], env=harness.clean_env(PYTHONPATH=CLIENTS_DIR),
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stderr)
        out = json.loads(run.stdout)
        self.assertEqual(out["first"], [200, 200, 200, 200])  # each waited its turn on "one"
        code, budget, has_reset, message = out["after"]
        self.assertEqual((code, budget, has_reset), ("budget_exhausted", "small", True))
        self.assertIn("budget small has 0 of 4 credits left", message)

    def test_node_fetch_retries_429_and_throws_on_402(self):
        folder = harness.npm_install(os.path.join(self.tmp, "node-recipe"), os.path.join(CLIENTS_DIR, "creditgate_fetch.mjs"))
        with open(os.path.join(folder, "run.mjs"), "w") as f:
            f.write(textwrap.dedent("""
                import { creditgateFetch, BudgetExhausted } from './creditgate_fetch.mjs';
                const page = (i) => process.argv[2].replace('{}', i).replace('{}', 150);
                const first = await Promise.all([0, 1, 2, 3].map(async (i) => (await creditgateFetch(page(i))).status));
                let after;
                try { after = (await creditgateFetch(page(9))).status; }
                catch (e) { after = [e instanceof BudgetExhausted, e.code, e.budget, e.message]; }
                console.log(JSON.stringify({ first, after }));
            """))
        proxy, url = self.start([{"id": "one", "vendor": "scraperapi", "max_concurrent": 1},
                                 {"id": "small", "vendor": "scraperapi", "limit": 4, "period": "day"}])
        # undici tunnels every request with CONNECT, http:// too: the recipe is for https:// URLs,
        # intercepted with creditgate's CA.
        ca = os.path.join(proxy.folder, "var", "ca", "creditgate-ca.pem")
        run = subprocess.run(["node", "run.mjs", PAGE.replace("http://", "https://")], cwd=folder, capture_output=True,
                             text=True, timeout=120, env=harness.clean_env(HTTPS_PROXY=url, NODE_EXTRA_CA_CERTS=ca))
        self.assertEqual(run.returncode, 0, run.stderr)
        out = json.loads(run.stdout)
        self.assertEqual(out["first"], [200, 200, 200, 200])
        self.assertEqual(out["after"][:3], [True, "budget_exhausted", "small"])
        self.assertIn("budget small has 0 of 4 credits left", out["after"][3])

    def test_the_ca_one_liners_of_the_config_guide_work(self):
        """Each line fetches /ca.pem from the admin listener and sets the runtime's variable; an
        intercepted HTTPS call then verifies. The lines are run as the guide prints them."""
        proxy, url = self.start([])
        with open(os.path.join(harness.ROOT, "config", "README.md")) as f:
            rows = dict(re.findall(r"^\| (curl|Python requests|httpx) \| `([^`]+)`", f.read(), re.M))
        self.assertEqual(len(rows), 3)
        page = "https://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/ca"
        clients = {
            "curl": ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-x", url, page],
            "Python requests": [sys.executable, "-c", f"import requests; print(requests.get({page!r}, proxies={{'https': {url!r}}}).status_code)"],
            "httpx": [sys.executable, "-c", f"import httpx; print(httpx.get({page!r}, proxies={url!r}).status_code)"],
        }
        for runtime, line in rows.items():
            home = tempfile.mkdtemp(dir=self.tmp)
            line = line.replace("\\|", "|").replace("127.0.0.1:9090", proxy.admin_addr)
            # The exported variable, as a shell that ran the line would have it.
            shell = subprocess.run(["bash", "-c", line + " && env -0"], capture_output=True, timeout=30,
                                   env=harness.clean_env(HOME=home))
            self.assertEqual(shell.returncode, 0, f"{runtime}: {shell.stderr}")
            env = dict(kv.split("=", 1) for kv in shell.stdout.decode().split("\0") if "=" in kv)
            run = subprocess.run(clients[runtime], capture_output=True, text=True, timeout=30, env=env)
            self.assertEqual(run.stdout.strip(), "200", f"{runtime}: {line}\n{run.stderr[-800:]}")


if __name__ == "__main__":
    harness.main()
