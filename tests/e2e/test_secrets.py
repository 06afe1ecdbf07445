#!/usr/bin/env python3
"""Hashed client secrets (SPEC §13): `creditgate hash-secret` reads stdin, a client with
`secret_hash` is served like one with `secret`, a wrong secret gets 407, the hash is paid once per
credential, and hashing never stalls the workers: other clients are answered while it runs."""

import concurrent.futures
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

CALL = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"


def hash_secret(stdin):
    run = subprocess.run([harness.BINARY, "hash-secret"], input=stdin, capture_output=True, timeout=30,
                         env=harness.clean_env())
    return run.returncode, run.stdout.decode().strip(), run.stderr.decode()


def get(proxy, user, secret, url=CALL):
    with requests.Session() as s:  # a new connection each time: the session cache does not help
        s.trust_env = False
        s.proxies = {"http": proxy.proxy_url(user, secret)}
        return s.get(url, timeout=30)


class Secrets(harness.VendorTestCase):
    def test_hash_secret_reads_stdin_and_strips_one_newline(self):
        self.add_account("scraperapi", "SA-KEY")
        code, with_newline, _ = hash_secret(b"s3cret-eu\n")
        self.assertEqual(code, 0)
        self.assertRegex(with_newline, r"^pbkdf2-sha256\$600000\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$")
        code, without, _ = hash_secret(b"s3cret-eu")
        self.assertEqual(code, 0)
        self.assertNotEqual(with_newline, without)  # a fresh salt each time
        code, _, err = hash_secret(b"")
        self.assertEqual(code, 2)
        self.assertIn("no secret on stdin", err)
        code, twice, _ = hash_secret(b"s3cret-eu\n\n")  # only one newline is stripped
        # Both hashes of "s3cret-eu" let eu-1 in; the one of "s3cret-eu\n" does not.
        for good in (with_newline, without):
            proxy = self.start_proxy(self.vendor_config(clients=[{"id": "eu-1", "team": "growth", "secret_hash": good}]))
            self.assertEqual(get(proxy, "eu-1", "s3cret-eu").status_code, 200)
            proxy.close()
        proxy = self.start_proxy(self.vendor_config(clients=[{"id": "eu-1", "team": "growth", "secret_hash": twice}]))
        self.assertEqual(get(proxy, "eu-1", "s3cret-eu").status_code, 407)

    def test_a_hashed_client_is_metered_and_a_wrong_secret_refused(self):
        self.add_account("scraperapi", "SA-KEY")
        _, hashed, _ = hash_secret(b"s3cret-eu\n")
        proxy = self.start_proxy(self.vendor_config(
            clients=[{"id": "eu-1", "team": "growth", "secret_hash": hashed},
                     {"id": "us-1", "team": "research", "secret": "s3cret-us"}],
            budgets=[{"id": "eu", "scope": {"client": "eu-1"}, "vendor": "scraperapi", "limit": 100}]))
        for _ in range(5):
            self.assertEqual(get(proxy, "eu-1", "s3cret-eu").status_code, 200)
        wrong = get(proxy, "eu-1", "s3cret-us")
        self.assertEqual(wrong.status_code, 407)
        self.assertEqual(wrong.json()["error"]["code"], "proxy_auth_required")
        self.assertEqual(get(proxy, "nobody", "s3cret-eu").status_code, 407)
        self.wait_until(lambda: self.budget(proxy, "eu")["used"] == 5, what="five calls settled on eu-1's budget")
        log = proxy.log()
        self.assertNotIn("s3cret-eu", log)
        self.assertNotIn(hashed.split("$")[3], log)

    def test_hashing_runs_off_the_workers(self):
        """One worker thread. Twenty wrong secrets for a hashed client queue twenty hashes (~0.1 s
        each, one after another); a plain client asking after them is answered before they are."""
        self.add_account("scraperapi", "SA-KEY")
        _, hashed, _ = hash_secret(b"s3cret-eu\n")
        proxy = self.start_proxy(self.vendor_config(
            threads=1,
            clients=[{"id": "eu-1", "team": "growth", "secret_hash": hashed},
                     {"id": "us-1", "team": "research", "secret": "s3cret-us"}]))
        done = []
        lock = threading.Lock()

        def guess(i):
            status = get(proxy, "eu-1", f"guess-{i}").status_code
            with lock:
                done.append(("guess", status))

        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            guesses = [pool.submit(guess, i) for i in range(20)]
            time.sleep(0.2)  # let the guesses reach the proxy first (an order, not a measurement)
            status = get(proxy, "us-1", "s3cret-us").status_code
            with lock:
                done.append(("plain", status))
            for g in guesses:
                g.result()
        self.assertIn(("plain", 200), done)
        self.assertEqual(sum(1 for kind, s in done if kind == "guess" and s == 407), 20)
        self.assertLess(done.index(("plain", 200)), len(done) - 1, "the plain client waited for every hash")

    def test_a_bad_secret_hash_is_a_config_error_with_its_path(self):
        proxy_config = self.vendor_config(clients=[
            {"id": "eu-1", "team": "growth", "secret_hash": "pbkdf2-sha256$1000$c2FsdHNhbHQ$AAAA"},
            {"id": "us-1", "team": "research", "secret": "x", "secret_hash": "y"},
            {"id": "ap-1", "team": "research"}])
        path = os.path.join(self.tmp, "bad-secrets.json")
        import json
        with open(path, "w") as f:
            json.dump(proxy_config, f)
        run = subprocess.run([harness.BINARY, "check-config", "--config", path], capture_output=True, text=True,
                             timeout=30, env=harness.clean_env())
        self.assertEqual(run.returncode, 2)
        self.assertIn("clients[0].secret_hash: iterations must be", run.stderr)
        self.assertIn("clients[1].secret: give either \"secret\" or \"secret_hash\"", run.stderr)
        self.assertIn("clients[2].secret: give either \"secret\" or \"secret_hash\"", run.stderr)


if __name__ == "__main__":
    harness.main()
