#!/usr/bin/env python3
"""Upstream TLS is verified: an untrusted or wrong-host certificate gives 502 upstream_error
and not a byte of the request reaches that server."""

import os
import ssl
import sys
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import pki  # noqa: E402
import requests  # noqa: E402


def handled(port, cafile=None):
    """Asks a mock upstream directly how many requests it served."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/__count", context=context, timeout=5) as r:
        import json
        return json.loads(r.read())["requests"]


class UpstreamTls(harness.ProxyTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        other = os.path.join(cls.tmp, "other")
        os.makedirs(other)
        # Self-signed: nobody trusts it.
        cls.untrusted = harness.MockUpstream(*pki.make_leaf(other, "untrusted", [cls.VENDOR_HOST]))
        # Signed by the trusted test CA, but for another name.
        cls.wrong_host = harness.MockUpstream(*pki.make_leaf(cls.ca_dir, "wronghost", ["other.example"], ca_dir=cls.ca_dir))
        cls.children += [cls.untrusted, cls.wrong_host]

    def proxy_to(self, port, vendor_tls="always"):
        config = self.base_config(resolve={f"{self.VENDOR_HOST}:443": f"127.0.0.1:{port}"})
        return self.start_proxy(config)

    def test_trusted_upstream_works(self):
        proxy = self.proxy_to(self.upstream.port)
        r = requests.get("http://api.scraperapi.com/echo", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=10)
        self.assertEqual(r.status_code, 200)

    def check_refused(self, upstream, fragment):
        before = handled(upstream.port)
        proxy = self.proxy_to(upstream.port)
        r = requests.get("http://api.scraperapi.com/echo?api_key=k", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")},
                         timeout=10)
        self.assertEqual(r.status_code, 502, r.text)
        self.assertEqual(r.headers["X-Creditgate-Error"], "upstream_error")
        self.assertIn(fragment, r.json()["error"]["message"])
        self.assertEqual(handled(upstream.port), before, "a request reached an unverified upstream")

    def test_untrusted_certificate(self):
        self.check_refused(self.untrusted, "certificate")

    def test_wrong_host_certificate(self):
        self.check_refused(self.wrong_host, "certificate")

    def test_plain_upstream_when_the_profile_says_never(self):
        plain = harness.MockUpstream()
        self.addCleanup(plain.close)
        config = self.base_config(vendors=[{"use": "scraperapi", "upstream_tls": "never"}],
                                  resolve={f"{self.VENDOR_HOST}:80": f"127.0.0.1:{plain.port}"})
        proxy = self.start_proxy(config)
        r = requests.get("http://api.scraperapi.com/echo", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=10)
        self.assertEqual(r.status_code, 200)
        self.assertEqual(r.json()["path"], "/echo")

    def test_new_upstream_connections_resume_the_tls_session(self):
        config = self.base_config(log={"level": "debug"}, threads=1)
        proxy = self.start_proxy(config)
        proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
        for _ in range(3):  # the vendor closes after each answer: three connections, three handshakes
            self.assertEqual(requests.get("http://api.scraperapi.com/close", proxies=proxies, timeout=10).status_code, 200)
        log = proxy.wait_for_log("upstream TLS session resumed")
        self.assertGreaterEqual(log.count("upstream TLS session resumed"), 2)

    def test_unreachable_upstream_is_502(self):
        with __import__("socket").socket() as s:
            s.bind(("127.0.0.1", 0))
            dead_port = s.getsockname()[1]  # bound, never listening: connection refused
            proxy = self.proxy_to(dead_port)
            r = requests.get("http://api.scraperapi.com/echo", proxies={"http": proxy.proxy_url("eu-1", "s3cret-eu")}, timeout=10)
        self.assertEqual(r.status_code, 502)
        self.assertEqual(r.headers["X-Creditgate-Error"], "upstream_error")


if __name__ == "__main__":
    harness.main()
