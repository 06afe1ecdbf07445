#!/usr/bin/env python3
"""Everything that must not pass is refused with the JSON answers of SPEC §5, and a bad or
slow client never stops the proxy from serving others."""

import json
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

VENDOR = "http://api.scraperapi.com"


def split_response(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}
    return status, headers, body


def read_one_response(sock):
    """Reads one response with a Content-Length body from a socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    status, headers, body = split_response(data)
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        body += sock.recv(65536)
    return status, headers, body


class Refusals(harness.ProxyTestCase):
    def setUp(self):
        config = self.base_config(passthrough=["localhost", "tunnel.test"])
        config["limits"] = {"header_bytes": 4096, "header_read_s": 2}
        self.proxy = self.start_proxy(config)
        self.proxies = {"http": self.proxy.proxy_url("eu-1", "s3cret-eu")}

    def assert_refusal(self, response, status, code):
        self.assertEqual(response.status_code, status, response.text)
        self.assertEqual(response.headers.get("X-Creditgate-Error"), code)
        self.assertEqual(response.headers.get("Content-Type"), "application/json")
        self.assertEqual(response.json()["error"]["code"], code)
        self.assertTrue(response.json()["error"]["message"])

    def test_407_then_retry_on_the_same_connection(self):
        with socket.create_connection(("127.0.0.1", self.proxy.proxy_port), timeout=5) as s:
            s.sendall(f"GET {VENDOR}/echo HTTP/1.1\r\nHost: api.scraperapi.com\r\n\r\n".encode())
            status, headers, body = read_one_response(s)
            self.assertEqual(status, 407)
            self.assertEqual(headers["proxy-authenticate"], 'Basic realm="creditgate"')
            self.assertNotIn("connection", headers)  # kept open
            self.assertEqual(json.loads(body)["error"]["code"], "proxy_auth_required")
            # Wrong secret: 407 again, still open.
            s.sendall(f"GET {VENDOR}/echo HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
                      f"Proxy-Authorization: {harness.basic('eu-1', 'wrong')}\r\n\r\n".encode())
            self.assertEqual(read_one_response(s)[0], 407)
            s.sendall(f"GET {VENDOR}/echo HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
                      f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\n".encode())
            status, headers, body = read_one_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["path"], "/echo")

    def test_407_with_a_small_body_keeps_the_connection(self):
        with socket.create_connection(("127.0.0.1", self.proxy.proxy_port), timeout=5) as s:
            s.sendall(f"POST {VENDOR}/echo HTTP/1.1\r\nHost: api.scraperapi.com\r\nContent-Length: 5\r\n\r\nhello".encode())
            self.assertEqual(read_one_response(s)[0], 407)
            s.sendall(f"POST {VENDOR}/echo HTTP/1.1\r\nHost: api.scraperapi.com\r\nContent-Length: 3\r\n"
                      f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\nabc".encode())
            status, _, body = read_one_response(s)
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body)["body_length"], 3)

    def test_non_vendor_hosts_and_ip_literals(self):
        for url in ("http://example.com/", "http://127.0.0.1:%d/echo" % self.upstream.port,
                    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://localhost/"):
            with self.subTest(url=url):
                self.assert_refusal(requests.get(url, proxies=self.proxies, timeout=10), 403, "destination_not_allowed")

    def test_connect_refusals(self):
        auth = harness.basic("eu-1", "s3cret-eu")
        cases = [
            # (a vendor CONNECT is intercepted, or refused with mitm_disabled: test_https_clients)
            ("example.com:443", 403, b"destination_not_allowed"),
            ("169.254.169.254:80", 403, b"destination_not_allowed"),
            # A passthrough host that resolves to loopback, without a resolve entry.
            (f"localhost:{self.upstream.port}", 403, b"destination_not_allowed"),
        ]
        for target, status, code in cases:
            with self.subTest(target=target):
                data = harness.raw_exchange(self.proxy.proxy_port,
                                            f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\nProxy-Authorization: {auth}\r\n\r\n".encode(),
                                            until_close=False)
                got_status, headers, body = split_response(data)
                self.assertEqual(got_status, status, data)
                self.assertEqual(headers["x-creditgate-error"].encode(), code)
                if target.startswith("localhost"):
                    self.assertIn(b"loopback", body)  # refused by the destination guard, not by routing

    def test_upgrade_to_a_vendor(self):
        r = requests.get(f"{VENDOR}/ws", proxies=self.proxies, timeout=10,
                         headers={"Connection": "Upgrade", "Upgrade": "websocket"})
        self.assert_refusal(r, 501, "upgrade_not_supported")

    def test_origin_form_is_not_a_proxy_request(self):
        auth = harness.basic("eu-1", "s3cret-eu")
        data = harness.raw_exchange(self.proxy.proxy_port,
                                    f"GET /echo HTTP/1.1\r\nHost: x\r\nProxy-Authorization: {auth}\r\nConnection: close\r\n\r\n".encode())
        self.assertEqual(split_response(data)[0], 400)

    def test_garbage_oversize_and_conflicting_requests(self):
        auth = harness.basic("eu-1", "s3cret-eu")
        cases = [
            (b"\x16\x03\x01\x02\x00garbage that is not HTTP\r\n\r\n", 400, "bad_request"),
            (b"GET " + VENDOR.encode() + b"/ HTTP/1.1\r\nX-Big: " + b"a" * 8000 + b"\r\n\r\n", 431, "headers_too_large"),
            (f"POST {VENDOR}/echo HTTP/1.1\r\nHost: a\r\nProxy-Authorization: {auth}\r\nContent-Length: 5\r\n"
             f"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n".encode(), 400, "bad_request"),
            (f"POST {VENDOR}/echo HTTP/1.1\r\nHost: a\r\nProxy-Authorization: {auth}\r\nContent-Length: 5\r\n"
             f"Content-Length: 6\r\n\r\nhello!".encode(), 400, "bad_request"),
            (f"POST {VENDOR}/echo HTTP/1.1\r\nHost: a\r\nProxy-Authorization: {auth}\r\n"
             f"Transfer-Encoding: gzip\r\n\r\nxx".encode(), 400, "bad_request"),
        ]
        for request, status, code in cases:
            with self.subTest(code=code, start=request[:40]):
                data = harness.raw_exchange(self.proxy.proxy_port, request)
                got_status, headers, body = split_response(data)
                self.assertEqual(got_status, status, data[:300])
                self.assertEqual(headers["x-creditgate-error"], code)
                self.assertEqual(json.loads(body)["error"]["code"], code)
        # ... and the proxy goes on serving everyone else.
        self.assertEqual(requests.get(f"{VENDOR}/echo", proxies=self.proxies, timeout=10).status_code, 200)

    def test_a_slow_client_never_blocks_others(self):
        slow = socket.create_connection(("127.0.0.1", self.proxy.proxy_port), timeout=10)
        slow.sendall(b"GET http://api.scraperapi.com/ HTTP/1.1\r\nHost: a")  # never finishes its head
        started = time.monotonic()
        for _ in range(5):
            self.assertEqual(requests.get(f"{VENDOR}/echo", proxies=self.proxies, timeout=5).status_code, 200)
        self.assertLess(time.monotonic() - started, 2)
        # header_read_s (2 s) later the proxy drops the half-sent head.
        slow.settimeout(6)
        self.assertEqual(slow.recv(100), b"")
        self.assertGreater(time.monotonic() - started, 1.5)
        slow.close()

    def test_admin_guard(self):
        base = f"http://{self.proxy.admin_addr}"
        r = requests.get(f"{base}/healthz", timeout=5)
        self.assertEqual((r.status_code, r.text), (200, "ok\n"))
        r = requests.post(f"{base}/api/v1/reload", timeout=5)
        self.assertEqual(r.status_code, 401)
        self.assertIn("Bearer", r.headers.get("WWW-Authenticate", ""))
        r = requests.post(f"{base}/api/v1/reload", headers={"Authorization": "Bearer wrong"}, timeout=5)
        self.assertEqual(r.status_code, 401)
        r = requests.post(f"{base}/api/v1/reload", headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 200, r.text)
        self.proxy.wait_for_log("reloaded")
        self.assertNotIn("test-admin-token", self.proxy.log())


if __name__ == "__main__":
    harness.main()
