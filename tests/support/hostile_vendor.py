#!/usr/bin/env python3
"""A hostile vendor for tests: plain HTTP/1.1 over raw sockets (keep-alive), so that it can break
its own framing in ways no server library would. It answers any host; tests reach it through
`resolve` with a profile whose upstream_tls is "never". The query parameter `act` picks the
behaviour of one answer; every answer carries the request's `n` so tests can tell answers apart.

  act=echo (default)  200 {"n", "method", "path", "headers", "body_len", "body_sha256"}, sa-credit-cost: 1
  act=oversend        a 5-byte body, then in the same write a whole second answer ("injected")
  act=oversend_late   the same, the injected answer 50 ms later in a second write
  act=bad_chunk       chunked, then a chunk size that is not hex
  act=huge_head       a 100 KiB header field
  act=cost&v=TEXT     sa-credit-cost: TEXT, and X-Credits-Balance: TEXT with bal=1
  act=spoof           X-Creditgate-Cost: 999 and X-Creditgate-Request-Id: forged on the answer
  act=reset           the head, part of the body, then a TCP reset
  act=size&bytes=N    a JSON body of exactly N bytes: {"data":[...],"pad":"xxx"} (MultiCart-shaped)
  act=te_gzip         Transfer-Encoding: gzip, chunked (the chunks carry gzip data)
Prints "listening PORT" once bound; GET /stats on any host answers {"requests", "connections"}.
"""

import argparse
import gzip
import hashlib
import json
import socket
import struct
import threading
import time
from urllib.parse import parse_qs, urlsplit

STATS = {"requests": 0, "connections": 0}
LOCK = threading.Lock()


def read_request(conn, buf):
    """One request from conn (buf holds bytes already read); returns (head, body, rest) or None."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    body = b""
    if headers.get("transfer-encoding", [""])[0].lower() == "chunked":
        while True:
            while b"\r\n" not in buf:
                buf += conn.recv(65536)
            size_line, _, buf = buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(buf) < size + 2:
                buf += conn.recv(65536)
            body += buf[:size]
            buf = buf[size + 2:]
            if size == 0:
                break
    else:
        length = int(headers.get("content-length", ["0"])[0])
        while len(buf) < length:
            data = conn.recv(65536)
            if not data:
                return None
            buf += data
        body, buf = buf[:length], buf[length:]
    return {"method": method, "target": target, "headers": headers}, body, buf


def answer(status, body, headers=()):
    head = f"HTTP/1.1 {status} OK\r\nContent-Length: {len(body)}\r\n"
    for k, v in headers:
        head += f"{k}: {v}\r\n"
    return head.encode() + b"\r\n" + body


def serve_connection(conn):
    buf = b""
    with LOCK:
        STATS["connections"] += 1
    try:
        while True:
            got = read_request(conn, buf)
            if got is None:
                return
            req, body, buf = got
            with LOCK:
                STATS["requests"] += 1
            url = urlsplit(req["target"])
            q = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            n = q.get("n", "")
            act = q.get("act", "echo")
            if url.path == "/stats":
                with LOCK:
                    conn.sendall(answer(200, json.dumps(STATS).encode(), [("Content-Type", "application/json")]))
                continue
            if act == "oversend" or act == "oversend_late":
                first = answer(200, b"hello", [("sa-credit-cost", "1"), ("X-N", n)])
                injected = answer(200, b"injected", [("sa-credit-cost", "0"), ("X-N", "injected")])
                if act == "oversend":
                    conn.sendall(first + injected)
                else:
                    conn.sendall(first)
                    time.sleep(0.05)
                    conn.sendall(injected)
                continue
            if act == "bad_chunk":
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nsa-credit-cost: 1\r\nX-N: " + n.encode() +
                             b"\r\n\r\n5\r\nhello\r\nZZ\r\nnot a chunk\r\n0\r\n\r\n")
                continue
            if act == "huge_head":
                conn.sendall(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\nContent-Length: 2\r\n\r\nok")
                continue
            if act == "cost":
                headers = [("sa-credit-cost", q.get("v", "1")), ("X-N", n)]
                if q.get("bal"):
                    headers.append(("X-Credits-Balance", q.get("v", "1")))
                conn.sendall(answer(200, b"{}", headers))
                continue
            if act == "spoof":
                conn.sendall(answer(200, b"{}", [("sa-credit-cost", "1"), ("X-Creditgate-Cost", "999"),
                                                 ("X-Creditgate-Request-Id", "forged"), ("X-N", n)]))
                continue
            if act == "reset":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nsa-credit-cost: 1\r\n\r\npartial")
                time.sleep(0.05)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                conn.close()
                return
            if act == "size":
                size = int(q["bytes"])
                prefix = b'{"code":200,"status":1,"data":[{"id":1},{"id":2}],"pad":"'
                pad = size - len(prefix) - 2
                data = prefix + bytes(ord("a") + i % 26 for i in range(pad)) + b'"}'
                conn.sendall(answer(200, data, [("Content-Type", "application/json"), ("X-N", n)]))
                continue
            if act == "te_gzip":
                coded = gzip.compress(b'{"code":200,"status":1,"data":[{"id":1}]}')
                conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" +
                             f"{len(coded):x}\r\n".encode() + coded + b"\r\n0\r\n\r\n")
                continue
            payload = {"n": n, "method": req["method"], "path": url.path,
                       "headers": {k: v for k, v in req["headers"].items()},
                       "body_len": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
            conn.sendall(answer(200, json.dumps(payload).encode(),
                                [("Content-Type", "application/json"), ("sa-credit-cost", "1"), ("X-N", n)]))
    except (OSError, ValueError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(256)
    print(f"listening {listener.getsockname()[1]}", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve_connection, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
