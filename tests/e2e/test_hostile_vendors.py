#!/usr/bin/env python3
"""Hostile vendors (issue 16): answers that break their own framing, amounts at the range edges,
bodies around the inspection limit, forged creditgate headers. Whatever a vendor sends, no byte of
one call's answer reaches another call, no budget wraps, and the proxy still starts afterwards."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

HOSTS = {"scraperapi": "api.scraperapi.com", "multicart": "multicartapi.com", "helius": "mainnet.helius-rpc.com"}
INSPECT = 4096  # limits.response_inspect_bytes and request_inspect_bytes in these tests


class HostileVendors(harness.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.hostile = harness.HostileVendor()
        cls.children.append(cls.hostile)

    def config(self, **overrides):
        config = self.base_config(
            vendors=[{"use": name, "upstream_tls": "never"} for name in HOSTS],
            resolve={f"{host}:80": f"127.0.0.1:{self.hostile.port}" for host in HOSTS.values()},
            budgets=[{"id": "team", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 1000000000000}],
            limits={"response_inspect_bytes": INSPECT, "request_inspect_bytes": INSPECT})
        config.update(overrides)
        return config

    def setUp(self):
        self.proxy = self.start_proxy(self.config())

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.proxy.proxy_port), timeout=10)
        self.addCleanup(s.close)
        return s

    def get(self, sock, query, client=("eu-1", "s3cret-eu"), host="api.scraperapi.com", method="GET", body=b"",
            extra=""):
        head = (f"{method} http://{host}/?{query} HTTP/1.1\r\nHost: {host}\r\n"
                f"Proxy-Authorization: {harness.basic(*client)}\r\n{extra}")
        if body or method == "POST":
            head += f"Content-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"\r\n" + body)
        status, headers, payload, rest = harness.read_response(sock)
        self.assertEqual(rest, b"", "bytes past the answer")
        return status, headers, payload

    def budget(self, budget_id="team"):
        r = requests.get(f"http://{self.proxy.admin_addr}/api/v1/budgets",
                         headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        return next(b for b in r.json(parse_float=Decimal)["budgets"] if b["id"] == budget_id)

    def test_an_answer_past_its_content_length_never_reaches_another_call(self):
        # Bug 4: the pooled connection kept the extra bytes, and the next call got them as its answer.
        for act in ("oversend", "oversend_late"):
            for round_ in range(3):
                a, b = self.connect(), self.connect()
                status, headers, body = self.get(a, f"act={act}&n=a{round_}")
                self.assertEqual((status, body, headers["x-n"]), (200, b"hello", [f"a{round_}"]))
                if act == "oversend_late":
                    time.sleep(0.1)  # the extra bytes arrive while the connection idles in the pool
                status, headers, body = self.get(b, f"n=b{round_}", client=("us-1", "s3cret-us"))
                self.assertEqual(headers["x-n"], [f"b{round_}"], f"{act}: another call's bytes came back")
                self.assertEqual(json.loads(body)["n"], f"b{round_}")
                self.assertEqual(headers["x-creditgate-cost"], ["1"])

    def test_a_broken_chunk_or_a_huge_head_ends_that_connection_only(self):
        s = self.connect()
        s.sendall(f"GET http://api.scraperapi.com/?act=bad_chunk HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
                  f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\n".encode())
        data = b""
        s.settimeout(5)
        while True:  # whatever came, the proxy ends this client connection: the rest cannot be framed
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        self.assertIn(b"hello", data)
        self.assertNotIn(b"not a chunk", data)
        status, headers, _ = self.get(self.connect(), "act=huge_head")
        self.assertEqual((status, headers["x-creditgate-error"]), (502, ["upstream_error"]))
        status, headers, body = self.get(self.connect(), "n=after")
        self.assertEqual((status, json.loads(body)["n"]), (200, "after"))

    def test_cost_headers_at_the_range_edges(self):
        # Bug 2: sa-credit-cost 9223372036854 wrapped the budget, and the proxy would not start again.
        s = self.connect()
        cases = [("9223372036854", "1"), ("1000000000000.000001", "1"), ("1e400", "1"), ("-5", "1"),
                 ("abc", "1"), ("0.5", "0.5"), ("1000000000000", "1000000000000")]
        for value, settled in cases:
            status, headers, _ = self.get(s, f"act=cost&v={value}")
            self.assertEqual((status, headers["x-creditgate-cost"]), (200, [settled]), value)
        team = self.budget()
        self.assertEqual(Decimal(team["used"]), Decimal("1000000000005.5"))
        self.assertEqual(Decimal(team["remaining"]), Decimal("-5.5"))  # overspent by drift only, never wrapped
        self.assertEqual(Decimal(team["frozen"]), 0)
        # The ledger reads back: a restart counts the same, and report prints it.
        self.assertEqual(self.proxy.terminate(), 0)
        self.proxy = self.start_proxy(self.proxy_config_again())
        self.assertEqual(Decimal(self.budget()["used"]), Decimal("1000000000005.5"))
        report = subprocess.run([harness.BINARY, "report", "--config", self.proxy.config_path, "--format", "json",
                                 "--group-by", "vendor"], capture_output=True, text=True, timeout=20)
        self.assertEqual(report.returncode, 0, report.stderr)
        rows = json.loads(report.stdout)["rows"]
        self.assertEqual(Decimal(str(rows[0]["credits"])), Decimal("1000000000005.5"))

    def proxy_config_again(self):
        with open(self.proxy.config_path) as f:
            return json.load(f)

    def test_creditgate_headers_are_ours_alone(self):
        s = self.connect()
        status, headers, _ = self.get(s, "act=spoof&n=1")
        self.assertEqual(headers["x-creditgate-cost"], ["1"])
        self.assertEqual(len(headers["x-creditgate-request-id"]), 1)
        self.assertNotEqual(headers["x-creditgate-request-id"], ["forged"])
        status, headers, body = self.get(s, "n=2", extra="X-Creditgate-Max-Cost: 5\r\nX-CreditGate-Client: admin\r\n")
        seen = json.loads(body)["headers"]
        self.assertFalse([k for k in seen if k.startswith("x-creditgate")], seen)

    def test_a_reset_after_the_head_still_bills_and_the_next_call_is_clean(self):
        s = self.connect()
        s.sendall(f"GET http://api.scraperapi.com/?act=reset HTTP/1.1\r\nHost: api.scraperapi.com\r\n"
                  f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n\r\n".encode())
        s.settimeout(5)
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
        self.assertIn(b"x-creditgate-cost: 1", data.lower())  # its head came, so the vendor billed it
        self.assertEqual(Decimal(self.budget()["used"]), 1)
        self.assertEqual(Decimal(self.budget()["frozen"]), 0)
        status, headers, body = self.get(self.connect(), "n=next")
        self.assertEqual(json.loads(body)["n"], "next")

    def test_answers_around_the_inspection_limit_arrive_whole(self):
        # Bug 3: from ~limit - 5 bytes the client got shifted data and extra bytes past the
        # Content-Length, then read its next answer out of them; those calls settled at 0.
        s = self.connect()
        for size in list(range(INSPECT - 6, INSPECT + 7)) + [2 * INSPECT, 3 * INSPECT + 17, 100_000]:
            status, headers, body = self.get(s, f"act=size&bytes={size}&n={size}", host="multicartapi.com",
                                             method="POST", body=b"{}", extra="x-api-key: K\r\n")
            self.assertEqual(status, 200)
            self.assertEqual(len(body), size)
            prefix = b'{"code":200,"status":1,"data":[{"id":1},{"id":2}],"pad":"'
            expected = prefix + bytes(ord("a") + i % 26 for i in range(size - len(prefix) - 2)) + b'"}'
            self.assertEqual(hashlib.sha256(body).hexdigest(), hashlib.sha256(expected).hexdigest(), size)
            # Read whole, the envelope's two items are billed; past the limit, the estimate (never 0).
            self.assertEqual(headers["x-creditgate-cost"], ["2" if size <= INSPECT else "1"], size)
            status, headers, body = self.get(s, f"n=after{size}")  # the same client connection
            self.assertEqual(json.loads(body)["n"], f"after{size}")

    def test_a_transfer_coding_stays_with_the_body(self):
        s = self.connect()
        status, headers, body = self.get(s, "act=te_gzip", host="multicartapi.com", method="POST", body=b"{}",
                                         extra="x-api-key: K\r\n")
        self.assertEqual(headers["transfer-encoding"], ["gzip, chunked"])
        import gzip
        self.assertEqual(json.loads(gzip.decompress(body))["status"], 1)
        self.assertEqual(headers["x-creditgate-cost"], ["1"])  # coded: not inspected, so the estimate

    def test_request_bodies_around_the_inspection_limit_reach_the_vendor_whole(self):
        # Bug 3, requests: bodies just under the limit reached the vendor with garbage appended,
        # and a chunked body under the limit got 413.
        s = self.connect()
        for size in range(INSPECT - 5, INSPECT + 1):
            prefix, suffix = b'{"jsonrpc":"2.0","id":1,"method":"getSlot","params":["', b'"]}'
            body = prefix + b"x" * (size - len(prefix) - len(suffix)) + suffix
            self.assertEqual(len(body), size)
            status, headers, answer = self.get(s, f"api-key=K&n={size}", host="mainnet.helius-rpc.com",
                                               method="POST", body=body)
            echoed = json.loads(answer)
            self.assertEqual((status, echoed["body_len"]), (200, size))
            self.assertEqual(echoed["body_sha256"], hashlib.sha256(body).hexdigest())
        body = b'{"method":"getSlot","params":["' + b"y" * (INSPECT - 100) + b'"]}'
        chunked = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
        s.sendall(f"POST http://mainnet.helius-rpc.com/?api-key=K HTTP/1.1\r\nHost: mainnet.helius-rpc.com\r\n"
                  f"Proxy-Authorization: {harness.basic('eu-1', 's3cret-eu')}\r\n"
                  f"Transfer-Encoding: chunked\r\n\r\n".encode() + chunked)
        status, headers, answer, _ = harness.read_response(s)
        self.assertEqual((status, json.loads(answer)["body_len"]), (200, len(body)))
        big = b'{"method":"getSlot","params":["' + b"z" * INSPECT + b'"]}'
        status, headers, _ = self.get(self.connect(), "api-key=K", host="mainnet.helius-rpc.com", method="POST", body=big)
        self.assertEqual((status, headers["x-creditgate-error"]), (413, ["body_too_large"]))


if __name__ == "__main__":
    harness.main()
