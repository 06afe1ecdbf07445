#!/usr/bin/env python3
"""The guides are tested like code: every config in config/README.md validates, every key the
config reader knows is documented there, the vendor-profile guide's profile loads and its
`creditgate estimate` output is what the guide shows, the demo's walk (`make demo`) reaches a
metered call, a queue, a 402 and a report, and every relative link in the guides resolves."""

import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import harness  # noqa: E402

ROOT = harness.ROOT
CONFIG_GUIDE = os.path.join(ROOT, "config", "README.md")
VENDOR_GUIDE = os.path.join(ROOT, "config", "vendors", "README.md")


def read(path):
    with open(path) as f:
        return f.read()


def blocks(text, lang):
    return re.findall(r"```" + lang + r"\n(.*?)```", text, re.S)


def check_config(folder, text, env=None):
    path = os.path.join(folder, "creditgate.json")
    with open(path, "w") as f:
        f.write(text)
    return subprocess.run([harness.BINARY, "check-config", "--config", path], capture_output=True, text=True,
                          timeout=30, env=harness.clean_env(**(env or {})))


class Guides(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="creditgate-guides-")

    def test_every_config_in_the_config_guide_validates(self):
        configs = blocks(read(CONFIG_GUIDE), "jsonc")
        self.assertEqual(len(configs), 3)
        minimal, full, postgres = configs
        run = check_config(self.tmp, minimal, {"CREDITGATE_ADMIN_TOKEN": "t"})
        self.assertEqual(run.returncode, 0, run.stderr)
        vendors = {"CREDITGATE_VENDORS_DIR": os.path.join(ROOT, "config", "vendors")}
        run = check_config(self.tmp, full, vendors)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("ok (4 vendors, 2 accounts, 2 clients, 6 budgets)", run.stdout)
        # The fleet's storage section in place of the full example's.
        merged = re.sub(r'"storage": \{[^}]*\},', postgres.strip()[1:-1].strip() + ",", full, count=1)
        run = check_config(self.tmp, merged, vendors)
        self.assertEqual(run.returncode, 0, run.stderr)

    def test_every_key_the_reader_knows_is_in_the_config_guide(self):
        sources = ["proxy/config/config.cpp", "proxy/config/config_sections.cpp", "proxy/config/config_lists.cpp",
                   "proxy/config/vendor_loader.cpp", "policies/budget.cpp"]
        keys = set()
        for source in sources:
            keys |= set(re.findall(r'(?<!::)\b(?:string|integer|boolean|amount|string_list|get|has|bytes|seconds)\("([a-z_]+)"',
                                   read(os.path.join(ROOT, source))))
        self.assertGreater(len(keys), 60)
        guide = read(CONFIG_GUIDE)
        documented = set(re.findall(r"^\| `([a-z_.\[\]]+)`", guide, re.M))
        leaves = {part.replace("[]", "") for d in documented for part in d.split(".")}
        self.assertEqual(sorted(keys - leaves), [], "keys the reader knows but the guide does not list")
        # Every documented key is used in an example that validates (the full one, the fleet's or the minimal).
        examples = "".join(blocks(guide, "jsonc"))
        unused = sorted(d.split(".")[-1].replace("[]", "") for d in documented
                        if f'"{d.split(".")[-1].replace("[]", "")}"' not in examples)
        self.assertEqual(unused, [], "documented keys no example shows")

    def test_the_vendor_guide_profile_loads_and_prices_as_shown(self):
        guide = read(VENDOR_GUIDE)
        json_blocks = blocks(guide, "json")
        profile = next(b for b in json_blocks if '"balance"' in b and '"cost"' in b and b.strip().startswith("{\n  \"name\""))
        config = next(b for b in json_blocks if '"vendors": [ { "file": "acme.json" } ]' in b)
        self.assertEqual(json.loads(profile)["name"], "acme")
        with open(os.path.join(self.tmp, "acme.json"), "w") as f:
            f.write(profile)
        run = check_config(self.tmp, config)
        self.assertEqual(run.returncode, 0, run.stderr)
        console = blocks(guide, "console")[0]
        command, _, shown = console.partition("\n")
        while command.endswith("\\"):
            more, _, shown = shown.partition("\n")
            command = command[:-1] + more
        args = re.findall(r'"[^"]*"|\S+', command.lstrip("$ ").strip())
        args = [a.strip('"') for a in args]
        self.assertEqual(args[:2], ["creditgate", "estimate"])
        args[args.index("--config") + 1] = os.path.join(self.tmp, "creditgate.json")
        run = subprocess.run([harness.BINARY] + args[1:], capture_output=True, text=True, timeout=30,
                             env=harness.clean_env())
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.splitlines()[:len(shown.strip().splitlines())], shown.strip().splitlines())

    def test_the_demo_walk_reaches_a_call_a_queue_a_402_and_a_report(self):
        run = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "config", "demo", "demo.py"), "--tour-only",
                              "--binary", harness.BINARY, "--folder", os.path.join(self.tmp, "demo"),
                              "--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
                             capture_output=True, text=True, timeout=120, env=harness.clean_env())
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        out = run.stdout
        self.assertIn("-> 200, X-Creditgate-Cost: 1", out)
        self.assertEqual(len(re.findall(r"-> call \d: 200 after", out)), 3)
        self.assertIn("-> 402 budget_exhausted: ", out)
        self.assertRegex(out, r"alice\s+scraperapi\s+6\s+5\s+0\s+1\s+19")
        self.assertIn("Done: a metered call, a queue, a 402 and a report.", out)

    def test_relative_links_in_the_guides_resolve(self):
        for doc in ("README.md", "config/README.md", "config/vendors/README.md", "config/clients/README.md"):
            base = os.path.dirname(os.path.join(ROOT, doc))
            for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", read(os.path.join(ROOT, doc))):
                if "://" in target:
                    continue
                self.assertTrue(os.path.exists(os.path.join(base, target)), f"{doc}: {target}")
        self.assertIn("make demo", read(os.path.join(ROOT, "README.md")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
