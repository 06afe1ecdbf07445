#!/usr/bin/env python3
"""Plain-HTTP forwarding through the real binary to a TLS vendor mock: real clients (curl,
requests) get the upstream's answer; bodies, chunking, 100-continue, HEAD, keep-alive and
header hygiene."""

import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

VENDOR = "http://api.scraperapi.com"


class Forwarding(harness.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

    def setUp(self):
        self.proxy = self.start_proxy()
        self.proxies = {"http": self.proxy.proxy_url("eu-1", "s3cret-eu")}

    def test_requests_with_HTTP_PROXY_credentials(self):
        env = harness.clean_env(HTTP_PROXY=self.proxy.proxy_url("eu-1", "s3cret-eu"))
        code = ("import requests, json; r = requests.get('http://api.scraperapi.com/echo?api_key=KEY123&x=1', timeout=10);"
                "print(json.dumps({'status': r.status_code, 'body': r.json(), 'headers': dict(r.headers)}))")
        out = subprocess.run(["/usr/bin/python3", "-c", code], env=env, capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        result = json.loads(out.stdout)
        self.assertEqual(result["status"], 200)
        self.assertEqual(result["body"]["path"], "/echo")
        self.assertEqual(result["body"]["query"], {"api_key": "KEY123", "x": "1"})
        upstream_headers = result["body"]["headers"]
        self.assertEqual(upstream_headers["host"], "api.scraperapi.com")
        self.assertEqual(upstream_headers["via"], "1.1 creditgate")
        self.assertNotIn("proxy-authorization", upstream_headers)
        self.assertNotIn("proxy-connection", upstream_headers)
        self.assertIn("X-Creditgate-Request-Id", result["headers"])
        # The API key travels in the query: it must never reach the log.
        log = self.proxy.wait_for_log("path=/echo status=200")
        self.assertNotIn("KEY123", log)
        self.assertNotIn("s3cret-eu", log)

    def test_curl_with_lowercase_http_proxy(self):
        env = harness.clean_env(http_proxy=self.proxy.proxy_url("us-1", "s3cret-us"))
        out = subprocess.run(["curl", "-sS", "--fail", f"{VENDOR}/echo?q=curl"], env=env, capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        body = json.loads(out.stdout)
        self.assertEqual(body["query"], {"q": "curl"})
        self.proxy.wait_for_log("client=us-1 team=research")

    def test_post_body_and_chunked_request(self):
        payload = os.urandom(300_000)
        r = requests.post(f"{VENDOR}/echo", data=payload, proxies=self.proxies, timeout=10)
        self.assertEqual(r.json()["body_length"], len(payload))
        import hashlib
        self.assertEqual(r.json()["body_sha256"], hashlib.sha256(payload).hexdigest())

        def pieces():
            for i in range(5):
                yield (b"piece-%d;" % i) * 1000
        # requests' chunked upload path drops the proxy credentials of the proxy URL (a
        # requests quirk, not ours): send them as a header.
        r = requests.post(f"{VENDOR}/echo", data=pieces(), proxies=self.proxies, timeout=10,
                          headers={"Proxy-Authorization": harness.basic("eu-1", "s3cret-eu")})
        self.assertEqual(r.json()["headers"].get("transfer-encoding"), "chunked")
        self.assertEqual(r.json()["body_length"], sum(len((b"piece-%d;" % i) * 1000) for i in range(5)))

    def test_chunked_response_stays_chunked(self):
        r = requests.get(f"{VENDOR}/chunked?parts=4", proxies=self.proxies, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers.get("Transfer-Encoding"), "chunked")
        self.assertEqual(r.text, "".join(f"part-{i}\n" for i in range(4)))

    def test_until_close_response_is_rechunked_for_http11(self):
        r = requests.get(f"{VENDOR}/close", proxies=self.proxies, timeout=10)
        self.assertEqual(r.text, "until-close body\n")
        self.assertEqual(r.headers.get("Transfer-Encoding"), "chunked")

    def test_expect_100_continue(self):
        data = "x" * 5000
        out = subprocess.run(["curl", "-sS", "-v", "--fail", "-x", f"http://{self.proxy.proxy_addr}", "-U", "eu-1:s3cret-eu",
                              "-H", "Expect: 100-continue", "--data-binary", data, f"{VENDOR}/echo"],
                             env=harness.clean_env(), capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("HTTP/1.1 100 Continue", out.stderr)
        body = json.loads(out.stdout)
        self.assertEqual(body["body_length"], 5000)
        self.assertNotIn("expect", body["headers"])  # we answered it; the vendor never sees it

    def test_head_keeps_content_length(self):
        r = requests.head(f"{VENDOR}/bytes?n=12345", proxies=self.proxies, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.headers["Content-Length"], "12345")
        r = requests.get(f"{VENDOR}/echo", proxies=self.proxies, timeout=10)  # the connection still works
        self.assertEqual(r.status_code, 200)

    def test_keep_alive_on_both_sides(self):
        with requests.Session() as s:
            s.proxies = self.proxies
            peers = {s.get(f"{VENDOR}/echo", timeout=10).json()["peer_port"] for _ in range(5)}
        # Sequential calls reuse one pooled upstream connection (per worker thread).
        self.assertLessEqual(len(peers), 2)

    def test_vendor_status_codes_pass_through(self):
        for code in (201, 404, 500, 503):
            r = requests.get(f"{VENDOR}/status?code={code}", proxies=self.proxies, timeout=10)
            self.assertEqual(r.status_code, code)
            self.assertNotIn("X-Creditgate-Error", r.headers)

    def test_two_requests_pipelined_on_one_connection(self):
        auth = harness.basic("eu-1", "s3cret-eu")
        one = f"GET {VENDOR}/echo?n=1 HTTP/1.1\r\nHost: api.scraperapi.com\r\nProxy-Authorization: {auth}\r\n\r\n"
        two = f"GET {VENDOR}/echo?n=2 HTTP/1.1\r\nHost: api.scraperapi.com\r\nProxy-Authorization: {auth}\r\nConnection: close\r\n\r\n"
        data = harness.raw_exchange(self.proxy.proxy_port, (one + two).encode())
        self.assertEqual(data.count(b"HTTP/1.1 200 OK"), 2, data[:500])
        self.assertIn(b'"n": "1"', data)
        self.assertIn(b'"n": "2"', data)

    def test_a_last_answer_comes_whole_with_the_close_and_at_once(self):
        """`Connection: close`: the answer is held for the close (TCP_CORK), so that it and the
        FIN leave together, and the close does not wait on the client meanwhile."""
        auth = harness.basic("eu-1", "s3cret-eu")
        request = (f"GET {VENDOR}/echo?n=1 HTTP/1.1\r\nHost: api.scraperapi.com\r\nProxy-Authorization: {auth}\r\n"
                   f"Connection: close\r\n\r\n").encode()
        took = []
        for _ in range(3):
            with socket.create_connection(("127.0.0.1", self.proxy.proxy_port), timeout=5) as s:
                started = time.monotonic()
                s.sendall(request)
                data = b""
                while chunk := s.recv(65536):  # until the FIN; a reset would raise
                    data += chunk
                took.append(time.monotonic() - started)
            head, _, body = data.partition(b"\r\n\r\n")
            self.assertIn(b"HTTP/1.1 200 OK", head)
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")))
            self.assertEqual(len(body), length)
            self.assertEqual(json.loads(body)["query"]["n"], "1")
        self.assertLess(min(took), 0.15, took)


if __name__ == "__main__":
    harness.main()
