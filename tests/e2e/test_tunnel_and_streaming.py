#!/usr/bin/env python3
"""Passthrough CONNECT is a blind tunnel with half-close; large bodies stream through with
bounded memory."""

import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402


class ReverseAfterEof:
    """Reads until the client half-closes, then answers with the bytes reversed and closes:
    only a tunnel that passes the half-close on gets an answer at all."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    @staticmethod
    def handle(conn):
        with conn:
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
            conn.sendall(data[::-1])


# Under AddressSanitizer (tests/support/run_sanitized.py) freed memory sits in quarantine: RSS
# says nothing about buffering there, so the memory bounds are checked on the Release binary only.
SANITIZED = os.environ.get("CREDITGATE_SANITIZED") == "1"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class TunnelAndStreaming(harness.ProxyTestCase):
    def test_passthrough_tunnel_with_half_close(self):
        echo = ReverseAfterEof()
        self.addCleanup(echo.sock.close)
        config = self.base_config(passthrough=["tunnel.test"])
        config["resolve"]["tunnel.test:7000"] = f"127.0.0.1:{echo.port}"
        proxy = self.start_proxy(config)
        auth = harness.basic("eu-1", "s3cret-eu")
        payload = os.urandom(200_000)
        with socket.create_connection(("127.0.0.1", proxy.proxy_port), timeout=10) as s:
            # The first payload bytes ride along with the CONNECT head, as TLS clients do.
            s.sendall(f"CONNECT tunnel.test:7000 HTTP/1.1\r\nHost: tunnel.test:7000\r\n"
                      f"Proxy-Authorization: {auth}\r\n\r\n".encode() + payload[:1000])
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(1)
            self.assertTrue(head.startswith(b"HTTP/1.1 200"), head)
            s.sendall(payload[1000:])
            s.shutdown(socket.SHUT_WR)
            answer = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                answer += chunk
        self.assertEqual(answer, payload[::-1])
        deadline = time.monotonic() + 5
        while "tunnel id=" not in proxy.log() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertIn("host=tunnel.test up=200000 down=200000", proxy.log())

    def test_50_mib_response_streams_with_bounded_memory(self):
        proxy = self.start_proxy()
        size = 50 * 1024 * 1024
        requests.get("http://api.scraperapi.com/echo", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=10)
        baseline = rss_kib(proxy.proc.pid)
        peak = baseline
        received = 0
        with requests.get(f"http://api.scraperapi.com/bytes?n={size}", stream=True, timeout=60,
                          proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}) as r:
            self.assertEqual(r.status_code, 200)
            for i, chunk in enumerate(r.iter_content(256 * 1024)):
                received += len(chunk)
                if i % 8 == 0:
                    time.sleep(0.01)  # a reader slower than the vendor: back-pressure, not buffering
                    peak = max(peak, rss_kib(proxy.proc.pid))
        self.assertEqual(received, size)
        growth_mib = (peak - baseline) / 1024
        print(f"RSS baseline {baseline} KiB, peak {peak} KiB, growth {growth_mib:.1f} MiB")
        if not SANITIZED:
            self.assertLess(growth_mib, 16)

    def test_large_upload_streams(self):
        proxy = self.start_proxy()
        size = 20 * 1024 * 1024

        def body():
            piece = b"u" * (1024 * 1024)
            for _ in range(size // len(piece)):
                yield piece
        baseline = rss_kib(proxy.proc.pid)
        r = requests.post("http://api.scraperapi.com/echo", data=body(), timeout=60,
                          proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")},
                          headers={"Proxy-Authorization": harness.basic("eu-1", "s3cret-eu")})
        self.assertEqual(r.json()["body_length"], size)
        if not SANITIZED:
            self.assertLess((rss_kib(proxy.proc.pid) - baseline) / 1024, 16)


if __name__ == "__main__":
    harness.main()
