#!/usr/bin/env python3
"""`cmake --install` into a temporary prefix (SPEC §13): the binary, the built-in profiles it finds
there without vendors_dir, the guides, an example config for a service and a systemd unit that
`systemd-analyze verify` accepts and whose hardening `systemd-analyze security` rates OK."""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402

BUILD_DIR = os.environ["CREDITGATE_BUILD_DIR"]


def run(*args, **kw):
    return subprocess.run(list(args), capture_output=True, text=True, timeout=120, env=harness.clean_env(), **kw)


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="creditgate-install-")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        done = run("cmake", "--install", BUILD_DIR, "--prefix", cls.prefix)
        assert done.returncode == 0, done.stderr + done.stdout
        cls.binary = os.path.join(cls.prefix, "bin", "creditgate")
        cls.config = os.path.join(cls.prefix, "etc", "creditgate", "creditgate.json")
        cls.unit = os.path.join(cls.prefix, "lib", "systemd", "system", "creditgate.service")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_the_files_land_where_spec_says(self):
        self.assertTrue(os.stat(self.binary).st_mode & stat.S_IXUSR)
        vendors = sorted(os.listdir(os.path.join(self.prefix, "share", "creditgate", "vendors")))
        self.assertEqual(vendors, sorted(f for f in os.listdir(os.path.join(harness.ROOT, "config", "vendors"))
                                         if f.endswith(".json")))
        for doc in ("README.md", "config-guide.md", "vendor-profiles.md", "examples/creditgate.logrotate"):
            self.assertGreater(os.path.getsize(os.path.join(self.prefix, "share", "doc", "creditgate", doc)), 500, doc)
        with open(self.config) as f:
            text = f.read()
        self.assertNotIn("vendors_dir", text)
        self.assertIn('"state_dir": "/var/lib/creditgate"', text)

    def test_the_installed_config_checks_and_finds_the_installed_profiles(self):
        checked = run(self.binary, "check-config", "--config", self.config)
        self.assertEqual(checked.returncode, 0, checked.stderr)
        self.assertIn("ok (5 vendors", checked.stdout)
        # Serve it from another folder (no vendors/ beside it), its state in a temp folder.
        folder = tempfile.mkdtemp(dir=self.tmp)
        with open(self.config) as f:
            text = f.read().replace('"/var/lib/creditgate"', json.dumps(os.path.join(folder, "state")))
        path = os.path.join(folder, "creditgate.json")
        with open(path, "w") as f:
            f.write(text)
        env = harness.clean_env(CREDITGATE_LISTEN="127.0.0.1:0", CREDITGATE_ADMIN_LISTEN="127.0.0.1:0")
        proc = subprocess.Popen([self.binary, "serve", "--config", path], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            line = proc.stdout.readline()
            self.assertTrue(line.startswith("creditgate listening "), line + proc.stderr.read() if not line else line)
            admin = re.search(r"admin=(\S+)", line).group(1)
            req = urllib.request.Request(f"http://{admin}/api/v1/budgets", headers={"Authorization": "Bearer dev-token"})
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            budgets = json.loads(opener.open(req, timeout=10).read())["budgets"]
            self.assertEqual({b["vendor"] for b in budgets}, {"scraperapi", "neuji", "crustdata"})
        finally:
            proc.terminate()
            proc.wait(30)

    def test_the_unit_verifies_and_is_hardened(self):
        with open(self.unit) as f:
            unit = f.read()
        self.assertIn(f"ExecStart={self.binary} serve --config {self.config}", unit)
        for line in ("DynamicUser=yes", "ExecReload=/bin/kill -HUP $MAINPID", "StateDirectory=creditgate",
                     "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes"):
            self.assertIn(line + "\n", unit)
        verified = run("systemd-analyze", "verify", self.unit)
        self.assertEqual(verified.returncode, 0, verified.stderr)
        self.assertEqual(verified.stderr.strip(), "")  # not even a warning
        # --threshold is on the 0-100 scale behind the 0.0-10.0 exposure shown: 20 = "2.0, OK".
        rated = run("systemd-analyze", "security", "--offline=true", "--threshold=20", self.unit)
        self.assertEqual(rated.returncode, 0, rated.stdout[-600:])

    def test_a_second_install_keeps_the_operators_config(self):
        prefix = os.path.join(self.tmp, "again")
        self.assertEqual(run("cmake", "--install", BUILD_DIR, "--prefix", prefix).returncode, 0)
        config = os.path.join(prefix, "etc", "creditgate", "creditgate.json")
        with open(config, "a") as f:
            f.write("// edited by the operator\n")
        self.assertEqual(run("cmake", "--install", BUILD_DIR, "--prefix", prefix).returncode, 0)
        with open(config) as f:
            self.assertIn("edited by the operator", f.read())
        self.assertTrue(os.path.exists(config + ".new"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
