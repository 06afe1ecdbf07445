"""End-to-end harness: starts the real creditgate binary and helper servers on port 0,
and tears everything down. Used by tests/e2e/*.py with Debian's /usr/bin/python3."""

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import pki  # noqa: E402

BINARY = os.environ.get("CREDITGATE_BIN", os.path.join(ROOT, "build", "creditgate"))
VENDORS_DIR = os.path.join(ROOT, "config", "vendors")

# Tests decide themselves what proxies and CA bundles clients use.
for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
            "no_proxy", "NO_PROXY"):
    os.environ.pop(var, None)


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(extra)
    return env


class Process:
    """A child that prints one line once it listens; killed at close()."""

    def __init__(self, args, ready_prefix, env=None, stderr_path=None, preexec_fn=None):
        self.stderr_file = open(stderr_path, "wb") if stderr_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self.stderr_file, env=env or clean_env(),
                                     preexec_fn=preexec_fn)
        self.line = self._read_line(ready_prefix)

    def _read_line(self, prefix, timeout=20):
        result = {}

        def reader():
            result["line"] = self.proc.stdout.readline().decode().strip()

        t = threading.Thread(target=reader, daemon=True)
        t.start()
        t.join(timeout)
        line = result.get("line", "")
        if not line.startswith(prefix):
            self.kill()
            raise RuntimeError(f"{self.proc.args[0]} did not start (first line: {line!r})")
        return line

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()

    def close(self):
        self.kill()
        if self.stderr_file is not subprocess.DEVNULL:
            self.stderr_file.close()


class MockUpstream(Process):
    def __init__(self, cert=None, key=None):
        args = [sys.executable, os.path.join(HERE, "mock_upstream.py"), "--port", "0"]
        if cert:
            args += ["--cert", cert, "--key", key]
        super().__init__(args, "listening ")
        self.port = int(self.line.split()[1])


class Creditgate(Process):
    """The real binary with a config written from a dict."""

    def __init__(self, folder, config, env=None, preexec_fn=None):
        self.folder = folder
        self.config_path = os.path.join(folder, "creditgate.json")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.log_path = os.path.join(folder, "creditgate.log")
        super().__init__([BINARY, "serve", "--config", self.config_path], "creditgate listening ",
                         env=clean_env(**(env or {})), stderr_path=self.log_path, preexec_fn=preexec_fn)
        fields = dict(part.split("=", 1) for part in self.line.split()[2:])
        self.proxy_addr = fields["proxy"]
        self.admin_addr = fields["admin"]
        self.proxy_port = int(self.proxy_addr.rsplit(":", 1)[1])
        self.admin_port = int(self.admin_addr.rsplit(":", 1)[1])

    def proxy_url(self, user, secret):
        return f"http://{user}:{secret}@{self.proxy_addr}"

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for_log(self, text, timeout=5.0):
        """Access lines are written in blocks (at most 100 ms late): wait for one to appear."""
        deadline = time.monotonic() + timeout
        while text not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} never appeared in the log:\n{self.log()}")
            time.sleep(0.02)
        return self.log()

    def reload_with(self, config, timeout=5.0):
        """Writes `config` over the file, sends SIGHUP, and returns once the log says it applied."""
        before = self.log().count("reloaded")
        with open(self.config_path, "w") as f:
            json.dump(config, f, indent=2)
        self.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + timeout
        while self.log().count("reloaded") <= before:
            if time.monotonic() > deadline:
                raise AssertionError(f"the reload never applied:\n{self.log()}")
            time.sleep(0.02)

    def terminate(self, timeout=30):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)


NODE_DIR = os.path.join(ROOT, "tests", "e2e", "node")


def npm_install(folder, *extra_files):
    """undici from the npm registry, pinned by the committed lockfile, into `folder` (with
    `extra_files` copied beside it): the Node clients' node_modules."""
    os.makedirs(folder, exist_ok=True)
    for path in (os.path.join(NODE_DIR, "package.json"), os.path.join(NODE_DIR, "package-lock.json"), *extra_files):
        shutil.copy(path, folder)
    out = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder,
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"npm ci failed: {out.stderr}")
    return folder


def basic(user, secret):
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


def raw_exchange(port, data, read_timeout=5.0, until_close=True):
    """Sends bytes to the proxy and returns what came back (until close or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=read_timeout) as s:
        s.sendall(data)
        chunks = []
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if not until_close and b"\r\n\r\n" in b"".join(chunks):
                    break
        except socket.timeout:
            pass
        return b"".join(chunks)


class ProxyTestCase(unittest.TestCase):
    """A test PKI, one TLS mock vendor for api.scraperapi.com, and helpers to start creditgate."""

    VENDOR_HOST = "api.scraperapi.com"

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="creditgate-e2e-")
        cls.ca_dir = os.path.join(cls.tmp, "ca")
        cls.ca_pem = pki.make_ca(cls.ca_dir)
        cls.vendor_cert = pki.make_leaf(cls.ca_dir, "vendor", [cls.VENDOR_HOST, "api.crustdata.com"], ca_dir=cls.ca_dir)
        cls.upstream = MockUpstream(*cls.vendor_cert)
        cls.children = [cls.upstream]

    @classmethod
    def tearDownClass(cls):
        for child in cls.children:
            child.close()
        if not os.environ.get("CREDITGATE_KEEP_TMP"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def base_config(self, **overrides):
        config = {
            "listen": "127.0.0.1:0",
            "admin": {"listen": "127.0.0.1:0", "token": "test-admin-token"},
            "state_dir": os.path.join(self.tmp, "var"),
            "threads": 2,
            "storage": {"kind": "sqlite", "flush_ms": 50},
            "log": {"level": "info"},
            "tls": {"upstream_ca_file": self.ca_pem},
            "vendors_dir": VENDORS_DIR,
            "vendors": ["scraperapi", "crustdata"],
            "resolve": {f"{self.VENDOR_HOST}:443": f"127.0.0.1:{self.upstream.port}",
                        "api.crustdata.com:443": f"127.0.0.1:{self.upstream.port}"},
            "clients": [{"id": "eu-1", "team": "growth", "secret": "s3cret-eu"},
                        {"id": "us-1", "team": "research", "secret": "s3cret-us"}],
        }
        config.update(overrides)
        return config

    def start_proxy(self, config=None, env=None, preexec_fn=None):
        folder = tempfile.mkdtemp(dir=self.tmp)
        config = config or self.base_config()
        if config.get("state_dir") == os.path.join(self.tmp, "var"):
            # Each proxy its own ledger, so that no test inherits another's spending.
            config["state_dir"] = os.path.join(folder, "var")
        proxy = Creditgate(folder, config, env=env, preexec_fn=preexec_fn)
        self.addCleanup(proxy.close)
        return proxy


def main():
    unittest.main(verbosity=2)


VENDOR_HOSTS = ["api.scraperapi.com", "multicartapi.com", "api.crustdata.com", "mainnet.helius-rpc.com",
                "admin-api.helius.xyz", "api.neuji.com"]


class MockVendors(Process):
    def __init__(self, cert, key):
        super().__init__([sys.executable, os.path.join(HERE, "mock_vendors.py"), "--port", "0", "--cert", cert, "--key", key],
                         "listening ")
        self.port = int(self.line.split()[1])


def fast_poll_vendors(folder):
    """The shipped profiles in `folder` with min_interval_s 1, so that tests see several polls."""
    import glob
    import re
    os.makedirs(folder)
    for path in glob.glob(os.path.join(VENDORS_DIR, "*.json")):
        with open(path) as f:
            text = re.sub(r'"min_interval_s":\s*\d+', '"min_interval_s": 1', f.read())
        with open(os.path.join(folder, os.path.basename(path)), "w") as f:
            f.write(text)
    return folder


class VendorTestCase(ProxyTestCase):
    """The five launch vendors mocked behind their real host names, reached through `resolve`."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cert = pki.make_leaf(cls.ca_dir, "vendors", VENDOR_HOSTS + ["mock.control"], ca_dir=cls.ca_dir)
        cls.vendors = MockVendors(*cert)
        cls.children.append(cls.vendors)

    def setUp(self):
        self.control("/reset", {})

    def control(self, path, payload=None):
        import http.client
        import ssl as _ssl
        context = _ssl.create_default_context(cafile=self.ca_pem)
        context.check_hostname = False
        conn = http.client.HTTPSConnection("127.0.0.1", self.vendors.port, context=context, timeout=10)
        body = json.dumps(payload).encode() if payload is not None else None
        conn.request("POST" if payload is not None else "GET", path, body=body,
                     headers={"Host": "mock.control", "Content-Type": "application/json"})
        answer = json.loads(conn.getresponse().read())
        conn.close()
        return answer

    def add_account(self, vendor, key, **fields):
        self.control("/accounts", dict(vendor=vendor, key=key, **fields))

    def vendor_account(self, key):
        return self.control(f"/accounts/{key}")

    def vendor_config(self, **overrides):
        config = self.base_config(
            vendors=["scraperapi", "multicart", "crustdata", "helius", "neuji"],
            resolve={f"{h}:443": f"127.0.0.1:{self.vendors.port}" for h in VENDOR_HOSTS})
        config.update(overrides)
        return config

    def admin_get(self, proxy, path):
        import requests as _requests
        r = _requests.get(f"http://{proxy.admin_addr}{path}", headers={"Authorization": "Bearer test-admin-token"}, timeout=10)
        r.raise_for_status()
        from decimal import Decimal as _Decimal
        return json.loads(r.text, parse_float=_Decimal)  # amounts are exact decimals: keep them so

    def budget(self, proxy, budget_id):
        for b in self.admin_get(proxy, "/api/v1/budgets")["budgets"]:
            if b["id"] == budget_id:
                return b
        raise KeyError(budget_id)

    def wait_until(self, predicate, timeout=10.0, what="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")


class HostileVendor(Process):
    """tests/support/hostile_vendor.py: plain HTTP that breaks its own framing on request."""

    def __init__(self):
        super().__init__([sys.executable, os.path.join(HERE, "hostile_vendor.py"), "--port", "0"], "listening ")
        self.port = int(self.line.split()[1])


def read_response(sock, buffered=b""):
    """One HTTP/1.1 response from a socket: (status, headers with lower-case names, body, bytes left
    over). Content-Length and chunked bodies; headers may repeat (values are lists)."""
    data = buffered
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole head: {data[:200]!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())

    def more():
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed inside a body")
        return chunk

    if "chunked" in headers.get("transfer-encoding", [""])[-1].lower():
        body = b""
        while True:
            while b"\r\n" not in rest:
                rest += more()
            size_line, _, rest = rest.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(rest) < size + 2:
                rest += more()
            body += rest[:size]
            rest = rest[size + 2:]
            if size == 0:
                return status, headers, body, rest
    length = int(headers.get("content-length", ["0"])[0])
    while len(rest) < length:
        rest += more()
    return status, headers, rest[:length], rest[length:]
