#!/usr/bin/env python3
"""The command line, graceful shutdown and reload."""

import json
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

VENDOR = "http://api.scraperapi.com"


class Lifecycle(harness.ProxyTestCase):
    def run_cli(self, *args, env=None):
        return subprocess.run([harness.BINARY, *args], capture_output=True, text=True, timeout=30,
                              env=harness.clean_env(**(env or {})))

    def test_version_and_help(self):
        out = self.run_cli("--version")
        self.assertEqual(out.returncode, 0)
        self.assertRegex(out.stdout, r"^creditgate \d+\.\d+\.\d+\n$")
        out = self.run_cli("--help")
        self.assertEqual(out.returncode, 0)
        self.assertIn("check-config", out.stdout)
        self.assertEqual(self.run_cli("frobnicate", "--config", "x").returncode, 2)
        self.assertEqual(self.run_cli("serve").returncode, 2)

    def test_check_config(self):
        path = os.path.join(self.tmp, "bad.json")
        with open(path, "w") as f:
            f.write('// a comment\n{"admin": {"token": ""}, "budgets": [{"id": "b", "vendor": "nope", "limit": 5}],'
                    ' "colour": 1, "threads": "${UNSET_VAR_FOR_TEST}"}')
        out = self.run_cli("check-config", "--config", path)
        self.assertEqual(out.returncode, 2)
        for fragment in (f"{path}: admin.token: must not be empty", f"{path}: budgets[0].vendor: unknown vendor \"nope\"",
                         f"{path}: colour: unknown key", f"{path}: threads: environment variable UNSET_VAR_FOR_TEST"):
            self.assertIn(fragment, out.stderr)
        self.assertEqual(out.stdout, "")
        example = os.path.join(harness.ROOT, "config", "creditgate.example.json")
        out = self.run_cli("check-config", "--config", example)
        self.assertEqual(out.returncode, 0, out.stderr)
        # An invalid config never starts the server.
        out = self.run_cli("serve", "--config", path)
        self.assertEqual(out.returncode, 2)
        self.assertNotIn("listening", out.stdout)

    def test_listening_line_is_the_only_stdout(self):
        proxy = self.start_proxy()
        self.assertRegex(proxy.line, r"^creditgate listening proxy=127\.0\.0\.1:\d+ admin=127\.0\.0\.1:\d+$")
        self.assertNotEqual(proxy.proxy_port, 0)

    def test_sigterm_lets_the_call_in_flight_finish(self):
        proxy = self.start_proxy()
        proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        result = {}

        def slow_call():
            result["response"] = requests.get(f"{VENDOR}/slow?ms=1500", proxies=proxies, timeout=20)

        t = threading.Thread(target=slow_call)
        t.start()
        # A kept-alive connection that will ask again while the server drains.
        idle = socket.create_connection(("127.0.0.1", proxy.proxy_port), timeout=10)
        auth = harness.basic("eu-1", "s3cret-eu")
        request = f"GET {VENDOR}/echo HTTP/1.1\r\nHost: api.scraperapi.com\r\nProxy-Authorization: {auth}\r\n\r\n".encode()
        idle.sendall(request)
        self.assertIn(b"200 OK", idle.recv(65536))
        time.sleep(0.4)
        proxy.proc.send_signal(15)
        time.sleep(0.3)
        idle.sendall(request)
        answer = idle.recv(65536)
        self.assertIn(b"503 Service Unavailable", answer)
        self.assertIn(b"X-Creditgate-Error: shutting_down", answer)
        # New connections are no longer accepted.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", proxy.proxy_port), timeout=2).recv(1)
        t.join(20)
        self.assertEqual(result["response"].status_code, 200)
        self.assertEqual(result["response"].json()["slept_ms"], 1500)
        self.assertEqual(proxy.proc.wait(10), 0)
        idle.close()

    def test_sighup_and_admin_reload(self):
        config = self.base_config()
        proxy = self.start_proxy(config)
        proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        self.assertEqual(requests.get(f"{VENDOR}/echo", proxies=proxies, timeout=10).status_code, 200)
        # Rotate eu-1's secret and reload by signal.
        config["clients"][0]["secret"] = "rotated"
        proxy.reload_with(config)
        self.assertEqual(requests.get(f"{VENDOR}/echo", proxies=proxies, timeout=10).status_code, 407)
        rotated = {"http": proxy.proxy_url("eu-1", "rotated")}
        self.assertEqual(requests.get(f"{VENDOR}/echo", proxies=rotated, timeout=10).status_code, 200)
        # An invalid file is refused and the running config stays.
        with open(proxy.config_path, "w") as f:
            f.write('{"admin": {"token": "x"}, "colour": 1}')
        admin = f"http://{proxy.admin_addr}/api/v1/reload"
        r = requests.post(admin, headers={"Authorization": "Bearer test-admin-token"}, timeout=5)
        self.assertEqual(r.status_code, 400)
        self.assertTrue(any("colour: unknown key" in e for e in r.json()["error"]["errors"]))
        self.assertEqual(requests.get(f"{VENDOR}/echo", proxies=rotated, timeout=10).status_code, 200)
        proxy.wait_for_log("status=407")
        self.assertNotIn("rotated", proxy.log())

    def test_a_reload_ends_what_a_kept_alive_connection_proved(self):
        """Credentials are remembered per connection; a reload that rotates a secret must not let
        a kept-alive connection go on with the old one (nor keep pointing into the old config)."""
        import http.client
        config = self.base_config()
        proxy = self.start_proxy(config)
        conn = http.client.HTTPConnection("127.0.0.1", proxy.proxy_port, timeout=10)
        auth = {"Proxy-Authorization": harness.basic("eu-1", "s3cret-eu")}

        def get():
            conn.request("GET", f"{VENDOR}/echo", headers=auth)
            r = conn.getresponse()
            r.read()
            return r.status

        self.assertEqual(get(), 200)
        sock = conn.sock
        self.assertEqual(get(), 200)
        config["clients"][0]["secret"] = "rotated"
        proxy.reload_with(config)
        self.assertEqual(get(), 407)
        self.assertIs(conn.sock, sock)  # one connection throughout: its remembered credentials were tested
        conn.close()

    def test_json_log_lines(self):
        config = self.base_config(log={"level": "info", "format": "json"})
        proxy = self.start_proxy(config)
        requests.get(f"{VENDOR}/echo?api_key=SECRETKEY", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=10)
        proxy.terminate()
        lines = [json.loads(line) for line in proxy.log().splitlines() if line.strip()]
        access = [l for l in lines if l["logger"] == "access"]
        self.assertEqual(len(access), 1)
        self.assertEqual(access[0]["client"], "eu-1")
        self.assertEqual(access[0]["path"], "/echo")
        self.assertEqual(access[0]["status"], 200)
        self.assertNotIn("SECRETKEY", proxy.log())


if __name__ == "__main__":
    harness.main()
