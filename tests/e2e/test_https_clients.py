#!/usr/bin/env python3
"""HTTPS through interception: real clients (curl, requests, httpx, aiohttp, Scrapy, Node with
undici) complete metered calls through HTTPS_PROXY with creditgate's CA; budgets run out as over
plain HTTP; a client that does not trust the CA fails alone; SNI and Host must name the CONNECT
host; with tls.mitm off a vendor CONNECT is refused."""

import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

PY = "/usr/bin/python3"
URL = "https://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"


class HttpsClients(harness.VendorTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.node_modules = harness.npm_install(os.path.join(cls.tmp, "node"), os.path.join(harness.NODE_DIR, "client.mjs"))

    def setUp(self):
        super().setUp()
        self.add_account("scraperapi", "SA-KEY")
        self.config = self.vendor_config(accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
                                         budgets=[{"id": "b", "vendor": "scraperapi", "limit": 100}])
        self.proxy = self.start_proxy(self.config)
        self.ca = os.path.join(self.config["state_dir"], "ca", "creditgate-ca.pem")
        self.proxy_url = self.proxy.proxy_url("eu-1", "s3cret-eu")

    def billed(self):
        return Decimal(self.vendor_account("SA-KEY")["billed"])

    def run_client(self, args, env, cwd=None):
        out = subprocess.run(args, env=harness.clean_env(**env), capture_output=True, text=True, timeout=60, cwd=cwd)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        return out.stdout

    def test_curl(self):
        out = self.run_client(["curl", "-sS", "-i", URL], {"https_proxy": self.proxy_url, "CURL_CA_BUNDLE": self.ca})
        self.assertIn("X-Creditgate-Cost: 1", out)
        out = self.run_client(["curl", "-sS", "-i", "--cacert", self.ca, "-x", self.proxy_url, URL], {})
        self.assertIn("200 OK", out)
        self.assertEqual(self.billed(), 2)

    def test_a_reload_ends_what_an_intercepted_tunnel_proved(self):
        """Calls inside an intercepted CONNECT belong to the client the CONNECT proved. A reload
        proves it again under the new config: an unrelated change keeps the tunnel serving, a
        rotated secret ends it (407 and close) instead of letting it go on with the old secret."""
        import http.client
        conn = http.client.HTTPSConnection("127.0.0.1", self.proxy.proxy_port, timeout=10,
                                           context=ssl.create_default_context(cafile=self.ca))
        conn.set_tunnel("api.scraperapi.com", 443, headers={"Proxy-Authorization": harness.basic("eu-1", "s3cret-eu")})

        def get():
            conn.request("GET", "/?api_key=SA-KEY&url=https://example.com/")
            r = conn.getresponse()
            r.read()
            return r

        self.assertEqual(get().status, 200)
        sock = conn.sock
        self.config["budgets"][0]["limit"] = 200
        self.proxy.reload_with(self.config)
        self.assertEqual(get().status, 200)
        self.config["clients"][0]["secret"] = "rotated"
        self.proxy.reload_with(self.config)
        self.assertIs(conn.sock, sock)  # still the first tunnel: what its CONNECT proved is tested
        r = get()
        self.assertEqual(r.status, 407)
        self.assertEqual(r.getheader("Connection"), "close")
        conn.close()
        self.assertEqual(self.billed(), 2)
        log = self.proxy.wait_for_log("status=407")
        access = [line for line in log.splitlines() if "access:" in line and "method=GET" in line]
        self.assertEqual(len(access), 3, access)
        self.assertTrue(all("client=eu-1" in line and "status=200" in line for line in access[:2]), access)
        self.assertIn("status=407", access[2])

    def test_requests(self):
        code = f"import requests; r = requests.get({URL!r}, timeout=20); print(r.status_code, r.headers['X-Creditgate-Cost'])"
        out = self.run_client([PY, "-c", code], {"HTTPS_PROXY": self.proxy_url, "REQUESTS_CA_BUNDLE": self.ca})
        self.assertEqual(out.split(), ["200", "1"])

    def test_httpx(self):
        code = f"import httpx; r = httpx.get({URL!r}, timeout=20); print(r.status_code, r.headers['x-creditgate-cost'])"
        out = self.run_client([PY, "-c", code], {"HTTPS_PROXY": self.proxy_url, "SSL_CERT_FILE": self.ca})
        self.assertEqual(out.split(), ["200", "1"])

    def test_aiohttp(self):
        code = textwrap.dedent(f"""
            import asyncio, ssl, aiohttp
            async def main():
                context = ssl.create_default_context(cafile={self.ca!r})
                async with aiohttp.ClientSession(trust_env=True) as s:
                    async with s.get({URL!r}, ssl=context) as r:
                        print(r.status, r.headers['X-Creditgate-Cost'])
            asyncio.run(main())
        """)
        out = self.run_client([PY, "-c", code], {"HTTPS_PROXY": self.proxy_url})
        self.assertEqual(out.split(), ["200", "1"])

    def test_scrapy(self):
        spider = os.path.join(self.tmp, "spider.py")
        with open(spider, "w") as f:
            f.write(textwrap.dedent(f"""
                import scrapy
                class Vendor(scrapy.Spider):
                    name = "vendor"
                    start_urls = [{URL!r}]
                    def parse(self, response):
                        yield {{"status": response.status, "cost": response.headers.get("X-Creditgate-Cost").decode()}}
            """))
        out_file = os.path.join(self.tmp, "items.json")
        self.run_client([PY, "-m", "scrapy", "runspider", spider, "-O", out_file, "-s", "LOG_LEVEL=ERROR",
                         "-s", "TELNETCONSOLE_ENABLED=False"], {"https_proxy": self.proxy_url}, cwd=self.tmp)
        with open(out_file) as f:
            self.assertEqual(json.load(f), [{"status": 200, "cost": "1"}])

    def test_node_undici(self):
        out = self.run_client(["node", os.path.join(self.node_modules, "client.mjs"), URL],
                              {"HTTPS_PROXY": self.proxy_url, "NODE_EXTRA_CA_CERTS": self.ca}, cwd=self.node_modules)
        answer = json.loads(out)
        self.assertEqual((answer["status"], answer["headers"]["x-creditgate-cost"]), (200, "1"))

    def test_budget_runs_out_over_https(self):
        session = requests.Session()
        session.proxies = {"https": self.proxy_url}
        self.addCleanup(session.close)
        # verify per request: requests lets an exported REQUESTS_CA_BUNDLE override a session's verify.
        amazon = "https://api.scraperapi.com/?api_key=SA-KEY&url=https://www.amazon.com/&render=true"
        codes = [session.get(amazon, timeout=10, verify=self.ca).status_code for _ in range(8)]  # 15 each against 100
        self.assertEqual(codes, [200] * 6 + [402] * 2)
        self.assertEqual(self.billed(), 90)
        r = session.get(amazon, timeout=10, verify=self.ca)
        self.assertEqual(r.json()["error"]["code"], "budget_exhausted")
        self.assertEqual(self.budget(self.proxy, "b")["frozen"], 0)

    def test_a_vendor_slower_than_the_client_deadlines_is_still_answered(self):
        config = self.vendor_config(accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}],
                                    limits={"header_read_s": 1, "client_idle_s": 2})
        proxy = self.start_proxy(config)
        ca = os.path.join(config["state_dir"], "ca", "creditgate-ca.pem")
        r = requests.get(URL + "&mock_sleep_ms=3000", proxies={"https": proxy.proxy_url("eu-1", "s3cret-eu")},
                         verify=ca, timeout=10)
        self.assertEqual((r.status_code, r.headers["X-Creditgate-Cost"]), (200, "1"))

    def test_untrusting_client_fails_alone(self):
        out = subprocess.run(["curl", "-sS", "-x", self.proxy_url, URL], env=harness.clean_env(CURL_CA_BUNDLE="/dev/null"),
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertEqual(self.billed(), 0)
        self.assertIn("200 OK", self.run_client(["curl", "-sS", "-i", "--cacert", self.ca, "-x", self.proxy_url, URL], {}))

    def open_tunnel(self, host="api.scraperapi.com", sni=None, context=None, session=None):
        sock = socket.create_connection(("127.0.0.1", self.proxy.proxy_port), timeout=10)
        sock.sendall(f"CONNECT {host}:443 HTTP/1.1\r\nHost: {host}:443\r\n"
                     f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += sock.recv(1)
        self.assertIn(b"200", head)
        if context is None:
            context = ssl.create_default_context(cafile=self.ca)
            context.check_hostname = False
        return context.wrap_socket(sock, server_hostname=sni or host, session=session)

    @staticmethod
    def call_through(tls):
        """One metered call on an open tunnel; returns the whole answer."""
        tls.sendall(b"GET /?api_key=SA-KEY&url=https://example.com/ HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
                    b"Connection: close\r\n\r\n")
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
        return answer

    def test_tls13_clients_resume_with_the_ticket_of_their_first_answer(self):
        context = ssl.create_default_context(cafile=self.ca)
        context.check_hostname = False
        first = self.open_tunnel(context=context)
        self.assertEqual(first.version(), "TLSv1.3")
        self.assertIn(b"200 OK", self.call_through(first))
        ticket = first.session
        first.close()
        self.assertTrue(ticket.has_ticket, "no session ticket came with the answer")
        again = self.open_tunnel(context=context, session=ticket)
        self.assertTrue(again.session_reused)
        self.assertIn(b"200 OK", self.call_through(again))
        again.close()
        self.assertEqual(self.billed(), 2)  # a credit for each call

    def test_a_last_answer_closes_the_tunnel_at_once(self):
        """After the answer to `Connection: close` the proxy sends its close_notify and its FIN
        without waiting for ours (RFC 8446 6.1). The answer, held for the close (TCP_CORK), is
        not held while anything waits."""
        took = []
        for _ in range(3):
            tls = self.open_tunnel()
            raw = socket.socket(fileno=os.dup(tls.fileno()))
            started = time.monotonic()
            answer = self.call_through(tls)  # until the proxy's close_notify
            took.append(time.monotonic() - started)
            self.assertIn(b"200 OK", answer)
            raw.settimeout(1.0)  # the proxy used to wait 2 s for our close_notify before its FIN
            self.assertEqual(raw.recv(1), b"")  # the FIN (a reset would raise), though we sent nothing
            raw.close()
            tls.close()
        self.assertLess(min(took), 0.15, took)
        self.assertEqual(self.billed(), 3)

    def test_inner_host_must_name_the_connect_host(self):
        tls = self.open_tunnel()
        tls.sendall(b"GET /?api_key=SA-KEY&url=https://example.com/ HTTP/1.1\r\nHost: api.crustdata.com\r\n\r\n")
        answer = tls.recv(65536)
        self.assertIn(b"421 Misdirected Request", answer)
        self.assertIn(b"misdirected_request", answer)
        tls.close()
        self.assertEqual(self.billed(), 0)

    def test_sni_must_name_the_connect_host(self):
        with self.assertRaises(ssl.SSLError):
            self.open_tunnel(sni="api.crustdata.com")

    def test_mitm_off_refuses_vendor_connects(self):
        config = dict(self.config, tls={"mitm": False, "upstream_ca_file": self.ca_pem})
        proxy = self.start_proxy(config)
        data = harness.raw_exchange(proxy.proxy_port,
                                    f"CONNECT api.scraperapi.com:443 HTTP/1.1\r\nHost: api.scraperapi.com:443\r\n"
                                    f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\n".encode(),
                                    until_close=False)
        self.assertTrue(data.startswith(b"HTTP/1.1 403"), data)
        self.assertIn(b"X-Creditgate-Error: mitm_disabled", data)


if __name__ == "__main__":
    harness.main()
