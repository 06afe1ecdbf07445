#!/usr/bin/python3
"""`make demo`: creditgate without vendor keys. Starts the mock vendors the tests use (ScraperAPI,
MultiCart, Crustdata, Helius and Neuji, answering as the real ones do, behind their real host
names), a demo config that points the vendors' hosts at them, and the proxy; then walks through a
metered call, a queue, a 402 and a usage report with curl, and leaves everything running for you
to try (Ctrl-C stops it). `--tour-only` stops after the walk (the tests run it so)."""

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "support"))
import harness  # noqa: E402  (the tests' mock vendors and child processes)
import pki  # noqa: E402

VENDOR_HOSTS = harness.VENDOR_HOSTS
ADMIN_TOKEN = "demo-token"


def say(text=""):
    print(text, flush=True)


def control(port, ca_pem, path, payload):
    """The mock vendors' control API (host mock.control), as curl would call it."""
    out = subprocess.run(["curl", "-sS", "--noproxy", "*", "--cacert", ca_pem, "--resolve", f"mock.control:{port}:127.0.0.1",
                          "-H", "Content-Type: application/json", "-d", json.dumps(payload),
                          f"https://mock.control:{port}{path}"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def curl(proxy, user, url, show=True, extra=()):
    """One call through creditgate as a client would make it; returns (status, headers, body)."""
    args = ["curl", "-sS", "-x", f"http://{user}@{proxy}", "-D", "-", *extra, url]
    if show:
        shown = ["curl", "-s", "-x", f"http://{user}@{proxy}", *extra, shlex.quote(url)]
        say("  $ " + " ".join(shown))
    out = subprocess.run(args, capture_output=True, text=True, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    head, _, body = out.stdout.partition("\n\n")  # text mode: curl's CRLFs arrive as \n
    lines = head.split("\n")
    status = int(lines[0].split()[1]) if lines and lines[0].startswith("HTTP/") else 0
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def write_config(folder, vendors_port, ca_pem, listen, admin):
    config = {
        "listen": listen,
        "admin": {"listen": admin, "token": ADMIN_TOKEN},
        "state_dir": os.path.join(folder, "state"),
        "storage": {"kind": "sqlite", "flush_ms": 50},
        "log": {"level": "info", "file": os.path.join(folder, "creditgate.log")},
        # The vendors' real host names, answered by the mocks on loopback.
        "resolve": {f"{h}:443": f"127.0.0.1:{vendors_port}" for h in VENDOR_HOSTS},
        "tls": {"upstream_ca_file": ca_pem},
        "vendors_dir": os.path.join(ROOT, "config", "vendors"),
        "vendors": ["scraperapi", "neuji"],
        # inject: clients send no vendor key; creditgate adds the account's.
        "accounts": [{"id": "scraperapi-demo", "vendor": "scraperapi", "api_key": "DEMO-SCRAPERAPI-KEY", "inject": True,
                      "poll_interval_s": 30},
                     {"id": "neuji-demo", "vendor": "neuji", "api_key": "DEMO-NEUJI-KEY", "inject": True}],
        "clients": [{"id": "alice", "team": "growth", "secret": "alice-secret"},
                    {"id": "bob", "team": "research", "secret": "bob-secret"}],
        "budgets": [
            {"id": "growth-scraperapi-daily", "scope": {"team": "growth"}, "vendor": "scraperapi", "limit": 20,
             "period": "day", "soft_limit": 0.8},
            {"id": "alice-one-at-a-time", "scope": {"client": "alice"}, "vendor": "scraperapi", "max_concurrent": 1,
             "on_exceed": "queue", "queue_timeout_ms": 10000},
            {"id": "research-neuji-usd", "scope": {"team": "research"}, "vendor": "neuji", "unit": "usd",
             "limit": "1.00", "period": "month"},
        ],
    }
    path = os.path.join(folder, "demo.json")
    with open(path, "w") as f:
        json.dump(config, f, indent=2)
    return path


def tour(binary, config_path, proxy, admin):
    alice = "alice:alice-secret"
    say("\n1. A metered call. alice (team growth) asks ScraperAPI for a page through creditgate;")
    say("   creditgate prices it (1 credit), freezes it on her budgets, adds the API key, and settles")
    say("   what ScraperAPI reports (sa-credit-cost):")
    status, headers, _ = curl(proxy, alice, "http://api.scraperapi.com/?url=https://example.com/")
    say(f"  -> {status}, X-Creditgate-Cost: {headers.get('x-creditgate-cost')}")
    if status != 200:
        return False

    say("\n2. A queue. Budget alice-one-at-a-time lets one call in at once and queues the rest; three")
    say("   slow calls (1 s each at the vendor) sent together finish one after another:")
    results = []

    def slow(i):
        t0 = time.monotonic()
        s, h, _ = curl(proxy, alice, f"http://api.scraperapi.com/?url=https://example.com/{i}&mock_sleep_ms=1000", show=False)
        results.append((i, s, time.monotonic() - t0))

    say(f"  $ for i in 1 2 3; do curl -s -x http://{alice}@{proxy} 'http://api.scraperapi.com/?url=https://example.com/$i' & done")
    threads = [threading.Thread(target=slow, args=(i,)) for i in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, s, took in sorted(results, key=lambda r: r[2]):
        say(f"  -> call {i}: {s} after {took:.1f} s")
    if sorted(s for _, s, _ in results) != [200, 200, 200]:
        return False

    say("\n3. A 402. growth has 20 ScraperAPI credits a day; a rendered Amazon page costs 15. The first")
    say("   fits, the second would pass the limit, so it never reaches ScraperAPI:")
    amazon = "http://api.scraperapi.com/?url=https://www.amazon.com/dp/B000000&render=true"
    status, headers, _ = curl(proxy, alice, amazon)
    say(f"  -> {status}, X-Creditgate-Cost: {headers.get('x-creditgate-cost')}")
    status, headers, body = curl(proxy, alice, amazon)
    say(f"  -> {status} {headers.get('x-creditgate-error')}: {body.strip()}")
    if status != 402:
        return False

    say("\n4. A usage report, from the ledger (also while the proxy runs):")
    time.sleep(0.3)  # the ledger writes every 50 ms here
    cmd = [binary, "report", "--config", config_path, "--group-by", "client,vendor"]
    say(f"  $ creditgate report --config {config_path} --group-by client,vendor")
    report = subprocess.run(cmd, capture_output=True, text=True)
    for line in report.stdout.splitlines():
        say("    " + line)
    cmd = [binary, "report", "--config", config_path, "--budgets"]
    say(f"  $ creditgate report --config {config_path} --budgets")
    budgets = subprocess.run(cmd, capture_output=True, text=True)
    for line in budgets.stdout.splitlines():
        say("    " + line)
    return report.returncode == 0 and "alice" in report.stdout and budgets.returncode == 0


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--binary", default=os.path.join(ROOT, "build", "creditgate"))
    parser.add_argument("--folder", default=os.path.join(ROOT, "var", "demo"))
    parser.add_argument("--listen", default="127.0.0.1:8081")
    parser.add_argument("--admin", default="127.0.0.1:9091")
    parser.add_argument("--tour-only", action="store_true")
    args = parser.parse_args()

    shutil.rmtree(args.folder, ignore_errors=True)
    os.makedirs(args.folder)
    pki_dir = os.path.join(args.folder, "vendor-pki")
    ca_pem = pki.make_ca(pki_dir, "creditgate-demo-vendors")
    cert, key = pki.make_leaf(pki_dir, "vendors", VENDOR_HOSTS + ["mock.control"], ca_dir=pki_dir)
    children = []
    try:
        vendors = harness.MockVendors(cert, key)
        children.append(vendors)
        vendors_port = vendors.port
        control(vendors_port, ca_pem, "/accounts", {"vendor": "scraperapi", "key": "DEMO-SCRAPERAPI-KEY", "credits": 5000})
        control(vendors_port, ca_pem, "/accounts", {"vendor": "neuji", "key": "DEMO-NEUJI-KEY"})
        config_path = write_config(args.folder, vendors_port, ca_pem, args.listen, args.admin)
        proxy = harness.Process([args.binary, "serve", "--config", config_path], "creditgate listening ",
                                stderr_path=os.path.join(args.folder, "stderr.log"))
        children.append(proxy)
        fields = dict(part.split("=", 1) for part in proxy.line.split()[2:])
        proxy_addr, admin_addr = fields["proxy"], fields["admin"]
        say(f"creditgate is up: proxy {proxy_addr}, admin {admin_addr}, config {config_path}")
        say("Mock vendors answer for " + ", ".join(VENDOR_HOSTS[:5]) + ".")
        ok = tour(args.binary, config_path, proxy_addr, admin_addr)
        if not ok:
            say(f"\ndemo: a step did not go as described; the proxy's log is {args.folder}/creditgate.log")
            return 1
        say("\nDone: a metered call, a queue, a 402 and a report.")
        if args.tour_only:
            return 0
        say(f"""
Still running. Try:
  the usage page     http://{admin_addr}/   (token: {ADMIN_TOKEN})
  budgets            curl -s -H 'Authorization: Bearer {ADMIN_TOKEN}' http://{admin_addr}/api/v1/budgets
  HTTPS, intercepted curl -s --cacert {args.folder}/state/ca/creditgate-ca.pem -x http://bob:bob-secret@{proxy_addr} 'https://api.neuji.com/v1/search?q=x'
  a price            {args.binary} estimate --config {config_path} 'https://api.scraperapi.com/?url=https://www.amazon.com/dp/1&render=true'
  your own config    config/README.md; your own vendor: config/vendors/README.md
Ctrl-C stops the proxy and the mock vendors.""")
        for sig in (signal.SIGINT, signal.SIGTERM):  # not ignored (a background job's SIGINT is), then waited for
            signal.signal(sig, lambda *_: None)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
        return 0
    except RuntimeError as e:  # a child did not start
        say(f"demo: {e}; see {args.folder}")
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for child in reversed(children):  # the proxy drains first, then the vendors go
            child.proc.send_signal(signal.SIGTERM)
            try:
                child.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
            child.close()

if __name__ == "__main__":
    sys.exit(main())
