#!/usr/bin/env python3
"""log.file (SPEC §13): SIGUSR1 reopens it under its name after a rotation (the renamed file gets
nothing more), one access line per call stays one line, and a fatal start-up error reaches
stderr even when the log goes to a file."""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402
import requests  # noqa: E402

CALL = "http://api.scraperapi.com/?api_key=SA-KEY&url=https://example.com/"


def read(path):
    with open(path) as f:
        return f.read()


class Logs(harness.VendorTestCase):
    def call(self, proxy, marker):
        with requests.Session() as s:
            s.trust_env = False
            s.proxies = {"http": proxy.proxy_url("eu-1", "s3cret-eu")}
            self.assertEqual(s.get(CALL + "&m=" + marker, timeout=10, headers={"User-Agent": marker}).status_code, 200)

    def test_sigusr1_reopens_the_log_file_after_a_rotation(self):
        self.add_account("scraperapi", "SA-KEY")
        folder = tempfile.mkdtemp(dir=self.tmp)
        log = os.path.join(folder, "creditgate.log")
        proxy = self.start_proxy(self.vendor_config(log={"level": "info", "file": log},
                                                    accounts=[{"id": "sa", "vendor": "scraperapi", "api_key": "SA-KEY"}]))
        for _ in range(3):
            self.call(proxy, "before")
        self.wait_until(lambda: os.path.exists(log) and read(log).count("api.scraperapi.com") >= 3, what="three access lines")
        os.rename(log, log + ".1")  # what logrotate does
        proxy.proc.send_signal(signal.SIGUSR1)
        self.wait_until(lambda: os.path.exists(log) and "log file reopened" in read(log), what="the reopened file")
        for _ in range(2):
            self.call(proxy, "after")
        self.wait_until(lambda: read(log).count("api.scraperapi.com") >= 2, timeout=15, what="two access lines in the new file")
        rotated = read(log + ".1")
        self.assertEqual(rotated.count("api.scraperapi.com"), 3)  # the renamed file got nothing more
        fresh = read(log)
        self.assertEqual(fresh.count("api.scraperapi.com"), 2)
        # One call, one line: every line of the file is a whole record.
        access = [line for line in fresh.splitlines() if "api.scraperapi.com" in line]
        self.assertTrue(all(line.count("api.scraperapi.com") == 1 for line in access))
        self.assertTrue(proxy.proc.poll() is None)  # SIGUSR1 did not stop it

    def test_a_fatal_start_up_error_reaches_stderr_with_a_log_file(self):
        folder = tempfile.mkdtemp(dir=self.tmp)
        log = os.path.join(folder, "creditgate.log")
        taken = socket.socket()
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        self.addCleanup(taken.close)
        port = taken.getsockname()[1]
        config = self.vendor_config(listen=f"127.0.0.1:{port}", log={"level": "info", "file": log})
        path = os.path.join(folder, "cg.json")
        import json
        with open(path, "w") as f:
            json.dump(config, f)
        run = subprocess.run([harness.BINARY, "serve", "--config", path], capture_output=True, text=True, timeout=30,
                             env=harness.clean_env())
        self.assertEqual(run.returncode, 1)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", run.stderr)
        self.assertIn(f"cannot listen on 127.0.0.1:{port}", read(log))  # and in the file

    def test_an_unwritable_state_dir_is_said_by_check_config_and_stops_serve(self):
        import json
        folder = tempfile.mkdtemp(dir=self.tmp)
        blocker = os.path.join(folder, "a-file")
        with open(blocker, "w") as f:
            f.write("not a folder\n")
        config = self.vendor_config(state_dir=os.path.join(blocker, "var"),
                                    log={"level": "info", "file": os.path.join(folder, "creditgate.log")})
        path = os.path.join(folder, "cg.json")
        with open(path, "w") as f:
            json.dump(config, f)
        said = f"{path}: state_dir: cannot write: {blocker} is not a folder"
        checked = subprocess.run([harness.BINARY, "check-config", "--config", path], capture_output=True, text=True,
                                 timeout=30, env=harness.clean_env())
        self.assertEqual(checked.returncode, 2)
        self.assertIn(said, checked.stderr)
        served = subprocess.run([harness.BINARY, "serve", "--config", path], capture_output=True, text=True, timeout=30,
                                env=harness.clean_env())
        self.assertEqual(served.returncode, 1)
        self.assertIn(said, served.stderr)
        self.assertEqual(served.stdout, "")  # never listened


if __name__ == "__main__":
    harness.main()
