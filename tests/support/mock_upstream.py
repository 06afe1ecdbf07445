#!/usr/bin/env python3
"""A small HTTP/1.1 origin server for end-to-end tests, plain or TLS, keep-alive.

Routes (any host):
  /echo            JSON: method, path, query, headers, body length and SHA-256 of the body
  /bytes?n=N       N bytes of a repeating pattern with Content-Length, written in 64 KiB pieces
  /chunked?parts=K K chunks of "part-i\n", Transfer-Encoding: chunked
  /slow?ms=M       answers after M milliseconds
  /close           no length: the body ends when the connection closes
  /status?code=C   an empty answer with that status
  /__count         how many requests this server has handled (this one excluded)
Prints "listening PORT" on stdout once bound (port 0 picks a free one).
"""

import hashlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from http_mock import read_body, serve


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-upstream"

    def log_message(self, fmt, *args):  # quiet: tests read stdout
        pass

    def _body(self):
        return read_body(self)

    def _send(self, code, body=b"", content_type="application/json", extra=None):
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self):
        url = urlsplit(self.path)
        if url.path == "/__count":
            self._send(200, json.dumps({"requests": self.server.handled}).encode())
            return
        with self.server.lock:
            self.server.handled += 1
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        body = self._body()
        if url.path == "/bytes":
            n = int(query.get("n", "0"))
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(n))
            self.end_headers()
            if self.command == "HEAD":
                return
            piece = (b"0123456789abcdef" * 4096)  # 64 KiB
            sent = 0
            while sent < n:
                chunk = piece[: min(len(piece), n - sent)]
                self.wfile.write(chunk)
                sent += len(chunk)
            return
        if url.path == "/chunked":
            parts = int(query.get("parts", "3"))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(parts):
                data = f"part-{i}\n".encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                time.sleep(0.01)
            self.wfile.write(b"0\r\n\r\n")
            return
        if url.path == "/slow":
            time.sleep(int(query.get("ms", "1000")) / 1000.0)
            self._send(200, json.dumps({"slept_ms": int(query.get("ms", "1000"))}).encode())
            return
        if url.path == "/close":
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"until-close body\n")
            self.close_connection = True
            return
        if url.path == "/status":
            self._send(int(query.get("code", "200")))
            return
        answer = {
            "method": self.command,
            "path": url.path,
            "query": query,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "body_length": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "peer_port": self.client_address[1],
        }
        self._send(200, json.dumps(answer).encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _handle


def main():
    serve(Handler)


if __name__ == "__main__":
    main()
