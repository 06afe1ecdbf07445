#!/usr/bin/env python3
"""Mock vendors for tests: one HTTP/1.1 server (TLS with a test certificate for the real host
names) that answers as ScraperAPI, MultiCart, Crustdata, Helius and Neuji do, after
shared/vendors.md, with per-key accounts, each vendor's pricing, headers, envelopes and error
statuses, and their balance endpoints.

Test hooks, on any vendor host:
  query mock_sleep_ms=N   answer after N ms (held as in flight at the vendor meanwhile)
  query mock_fail=500     answer 500 without charging
  query mock_hangup=1     close the connection without answering
  query mock_cost=N       ScraperAPI charges (and reports) N credits whatever the profile says
Control API on host "mock.control":
  POST /accounts {"vendor","key", ...fields}  create or change an account; "balance_mode" makes its
                                              balance endpoint "ok", "slow" (5 s), "garbage" (not JSON) or "error" (500)
  GET  /accounts/KEY                          the account, with "billed" (total charged), "peak" (most calls in flight)
                                              and "polls" (balance requests, with "poll_times")
  POST /reset                                 forget every account
Prints "listening PORT" once bound.
"""

import gzip
import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from http_mock import read_body, serve

LOCK = threading.Lock()
ACCOUNTS = {}  # key -> dict

HELIUS_PRICES = {"getProgramAccounts": 10, "getTransactionsForAddress": 100}
for m in ("getBlock", "getBlocks", "getBlocksWithLimit", "getBlockTime", "getSignaturesForAddress", "getTransaction",
          "getInflationReward", "getAsset", "getAssetBatch", "getAssetProof", "getAssetsByOwner", "getAssetsByAuthority",
          "getAssetsByCreator", "getAssetsByGroup", "searchAssets", "getSignaturesForAsset", "getTokenAccounts"):
    HELIUS_PRICES[m] = 10


def new_account(vendor, key, **fields):
    account = {"vendor": vendor, "key": key, "credits": Decimal("100000"), "used": Decimal("0"), "billed": Decimal("0"),
               "calls": 0, "in_flight": 0, "peak": 0, "concurrency_limit": 20, "out_of_credit_style": "429",
               "search_results": 4, "fanout": 1, "frozen": Decimal("0"), "balance_mode": "ok", "polls": 0,
               "poll_times": []}
    for k, v in fields.items():
        account[k] = Decimal(str(v)) if k in ("credits", "used", "frozen") else v
    return account


def remaining(a):
    return a["credits"] - a["used"]


def charge(a, amount):
    amount = Decimal(str(amount))
    a["used"] += amount
    a["billed"] += amount
    a["calls"] += 1


def dec(value):
    """A Decimal as a JSON number (no exponent, no float noise)."""
    return json.loads(format(value.normalize(), "f")) if value == value.to_integral() else float(value)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-vendors"

    def log_message(self, fmt, *args):
        pass

    # ---- plumbing ----
    def body(self):
        return read_body(self)

    def send(self, status, payload, headers=None, content_type="application/json"):
        data = payload if isinstance(payload, bytes) else (json.dumps(payload) if not isinstance(payload, str) else payload).encode()
        headers = dict(headers or {})
        if "gzip" in self.headers.get("Accept-Encoding", "") and headers.pop("_gzip_ok", False):
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        headers.pop("_gzip_ok", None)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, str(v))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self):
        url = urlsplit(self.path)
        self.query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.url_path = url.path
        self.raw_body = self.body()
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        if host == "mock.control":
            return self.control()
        if self.query.get("mock_hangup"):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        handler = {"api.scraperapi.com": self.scraperapi, "multicartapi.com": self.multicart,
                   "www.multicartapi.com": self.multicart, "api.crustdata.com": self.crustdata,
                   "mainnet.helius-rpc.com": self.helius, "admin-api.helius.xyz": self.helius_admin,
                   "api.neuji.com": self.neuji}.get(host)
        if handler is None:
            return self.send(404, {"error": f"no vendor at {host}"})
        handler()

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any

    def account(self, key, vendor):
        with LOCK:
            a = ACCOUNTS.get(key)
            return a if a and a["vendor"] == vendor else None

    def in_flight(self, a):
        """Counts this call at the vendor while it sleeps."""
        class scope:
            def __enter__(s):
                with LOCK:
                    a["in_flight"] += 1
                    a["peak"] = max(a["peak"], a["in_flight"])
            def __exit__(s, *exc):
                with LOCK:
                    a["in_flight"] -= 1
        return scope()

    def pause(self):
        ms = int(self.query.get("mock_sleep_ms", "0"))
        if ms:
            time.sleep(ms / 1000.0)

    def failing(self):
        return self.query.get("mock_fail")

    def balance_trouble(self, a):
        """Counts a balance request; answers it badly when the account says so (True: answered)."""
        with LOCK:
            a["polls"] += 1
            a["poll_times"].append(round(time.time(), 3))
            mode = a["balance_mode"]
        if mode == "slow":
            time.sleep(5)
        elif mode == "garbage":
            self.send(200, "<html>upstream maintenance</html>", content_type="text/html")
            return True
        elif mode == "error":
            self.send(500, {"error": "internal"})
            return True
        return False

    # ---- control ----
    def control(self):
        global ACCOUNTS
        if self.url_path == "/accounts" and self.command == "POST":
            spec = json.loads(self.raw_body)
            with LOCK:
                old = ACCOUNTS.get(spec["key"])
                if old:
                    for k, v in spec.items():
                        old[k] = Decimal(str(v)) if k in ("credits", "used", "frozen") else v
                else:
                    ACCOUNTS[spec["key"]] = new_account(**spec)
            return self.send(200, {"ok": True})
        if self.url_path.startswith("/accounts/"):
            with LOCK:
                a = ACCOUNTS.get(self.url_path[len("/accounts/"):])
                if not a:
                    return self.send(404, {"error": "no account"})
                out = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in a.items()}
            return self.send(200, out)
        if self.url_path == "/reset":
            with LOCK:
                ACCOUNTS = {}
            return self.send(200, {"ok": True})
        self.send(404, {"error": "unknown control route"})

    # ---- ScraperAPI ----
    def scraperapi(self):
        key = self.query.get("api_key", "")
        a = self.account(key, "scraperapi")
        if not a:
            return self.send(401, "Invalid API key. Please check your key.", content_type="text/plain")
        if self.url_path == "/account":
            if self.balance_trouble(a):
                return
            with LOCK:
                return self.send(200, {"burst": 0, "concurrencyLimit": a["concurrency_limit"],
                                       "concurrentRequests": a["in_flight"], "failedRequestCount": 0,
                                       "requestCount": dec(a["used"]), "requestLimit": dec(a["credits"]),
                                       "subscriptionDate": "2026-11-01T00:00:00.000Z"})
        target = self.query.get("url", "")
        tgt_host = urlsplit(target).hostname or ""
        labels = tgt_host.split(".")
        cost = 1
        if "amazon" in labels:
            cost = 5
        elif "google" in labels or tgt_host.endswith("bing.com"):
            cost = 25
        elif tgt_host == "linkedin.com" or tgt_host.endswith(".linkedin.com"):
            cost = 30
        for add, extra in (("render", 10), ("premium", 10), ("ultra_premium", 30), ("screenshot", 10)):
            if self.query.get(add, "").lower() == "true":
                cost += extra
        if "mock_cost" in self.query:  # a price change the profile does not know yet
            cost = int(self.query["mock_cost"])
        if "max_cost" in self.query and cost > int(self.query["max_cost"]):
            return self.send(403, "This request would cost more than your max_cost. Increase max_cost.", content_type="text/plain")
        with LOCK:
            if a["in_flight"] >= a["concurrency_limit"]:
                return self.send(429, "You have reached your concurrency limit.", content_type="text/plain")
            if remaining(a) < cost:
                return self.send(403, "You have used up all your API credits. Upgrade your plan.", content_type="text/plain")
        # In flight at the vendor until it starts answering: a proxy may settle (and let the
        # next call in) as soon as the answer's head arrives.
        with self.in_flight(a):
            self.pause()
            failed = self.failing()
            status = 404 if target.endswith("/404") else 200
            if not failed:
                with LOCK:
                    charge(a, cost)
        if failed:
            return self.send(500, "Request failed after retries.", content_type="text/plain")
        self.send(status, f"<html><body>page of {target}</body></html>",
                  {"sa-credit-cost": cost, "sa-statuscode": status, "sa-final-url": target, "sa-from-cache": 0},
                  content_type="text/html")

    # ---- MultiCart ----
    def multicart(self):
        key = self.headers.get("x-api-key", "")
        a = self.account(key, "multicart")
        gz = {"_gzip_ok": True}
        if not a:
            return self.send(200, {"code": 401, "data": "Invalid API key", "status": 0}, gz)
        if self.url_path.rstrip("/") == "/api/v1/users/credits":
            if self.balance_trouble(a):
                return
            with LOCK:
                return self.send(200, {"code": 200, "status": 1, "data": {
                    "id": 5, "user": 42, "available_credits": dec(a["credits"]), "used_credits": dec(a["used"]),
                    "frozen_credits": dec(a["frozen"]), "period_end": None}}, gz)
        try:
            request = json.loads(self.raw_body or b"{}")
        except ValueError:
            return self.send(200, {"code": 400, "data": "Bad JSON", "status": 0}, gz)
        items = int(request.get("items", 1))
        with self.in_flight(a):
            self.pause()
            if self.failing():
                return self.send(200, {"code": 500, "data": "Internal error", "status": 0}, gz)
            with LOCK:
                if remaining(a) < items:
                    return self.send(200, {"code": 402, "data": "Not enough credits to run this job", "status": 0}, gz)
                charge(a, items)
            data = [{"id": i, "title": f"product {i}"} for i in range(items)] if items != 1 else {"id": 0, "title": "product 0"}
            self.send(200, {"code": 200, "data": data, "status": 1}, gz)

    # ---- Crustdata ----
    def crustdata(self):
        auth = self.headers.get("Authorization", "")
        limits = {"x-ratelimit-limit": 300, "x-ratelimit-remaining": 299, "x-ratelimit-reset": 60}
        if not auth:
            return self.send(401, {"message": "Missing API key in request"}, limits)
        a = self.account(auth.split(" ", 1)[-1], "crustdata")
        if not a:
            return self.send(401, {"message": "Invalid API key in request"}, limits)
        gz = dict(limits, _gzip_ok=True)
        if self.url_path == "/user/credits":
            if self.balance_trouble(a):
                return
            with LOCK:
                return self.send(200, {"credits": dec(remaining(a))}, gz)
        if self.url_path in ("/person/search", "/company/search", "/job/search"):
            try:
                body = json.loads(self.raw_body or b"{}")
            except ValueError:
                body = {}
            limit = int(self.query.get("limit", body.get("limit", 25)))
            count = min(limit, int(a["search_results"]))
            cost = Decimal("0.03") * count
            with self.in_flight(a):
                self.pause()
                with LOCK:
                    if remaining(a) < cost:
                        return self.send(402, {"error": {"type": "insufficient_credits", "message": "Not enough credits"}}, limits)
                    charge(a, cost)
                kind = self.url_path.split("/")[1]
                key = {"person": "profiles", "company": "companies", "job": "jobs"}[kind]
                return self.send(200, {key: [{"id": i} for i in range(count)], "total": count}, gz)
        return self.send(404, {"message": "Not found"}, limits)

    # ---- Helius ----
    def helius(self):
        key = self.query.get("api-key") or self.headers.get("X-Api-Key", "")
        a = self.account(key, "helius")
        if not a:
            return self.send(401, {"jsonrpc": "2.0", "error": {"code": -32401, "message": "invalid api key"}, "id": None})
        try:
            request = json.loads(self.raw_body)
        except ValueError:
            return self.send(400, {"jsonrpc": "2.0", "error": {"code": -32700, "message": "parse error"}, "id": None})
        calls = request if isinstance(request, list) else [request]
        cost = sum(HELIUS_PRICES.get(c.get("method", ""), 1) for c in calls)
        with self.in_flight(a):
            self.pause()
            with LOCK:
                if remaining(a) < cost:
                    if a["out_of_credit_style"] == "rpc":
                        return self.send(200, {"jsonrpc": "2.0", "error": {"code": -32429, "message": "max usage reached"}, "id": 1})
                    return self.send(429, "max usage reached", content_type="text/plain")
                charge(a, cost)
            results = [{"jsonrpc": "2.0", "id": c.get("id"), "result": {"value": 1}} for c in calls]
            self.send(200, results if isinstance(request, list) else results[0])

    def helius_admin(self):
        key = self.query.get("api-key") or self.headers.get("X-Api-Key", "")
        a = self.account(key, "helius")
        if not a or not self.url_path.endswith("/usage"):
            return self.send(401, {"error": "unauthorized"})
        if self.balance_trouble(a):
            return
        with LOCK:
            used = a["used"]
            self.send(200, {"creditsRemaining": dec(max(Decimal(0), remaining(a))), "creditsUsed": dec(used),
                            "prepaidCreditsRemaining": 0, "prepaidCreditsUsed": 0,
                            "subscriptionDetails": {"billingCycle": {"start": "2026-11-01", "end": "2026-12-01"},
                                                    "creditsLimit": dec(a["credits"]), "plan": "developer"}})

    # ---- Neuji ----
    def neuji(self):
        auth = self.headers.get("Authorization", "")
        a = self.account(auth.split(" ", 1)[-1], "neuji") if auth.lower().startswith("bearer ") else None
        rate = {"X-RateLimit-Limit": 600, "X-RateLimit-Remaining": 599, "X-RateLimit-Reset": int(time.time()) + 60}
        if not a:
            return self.send(401, {"error": {"type": "unauthorized", "message": "bad key", "request_id": "r1"}}, rate)
        if self.url_path == "/v1/usage":
            if self.balance_trouble(a):
                return
            with LOCK:
                cents = remaining(a)
                return self.send(200, {"period_start": "2026-11-01T00:00:00Z", "requests": a["calls"],
                                       "billable_units": dec(a["used"] / 2),
                                       "credits": {"balance_cents": dec(cents), "balance": float(cents / 100),
                                                   "currency": "USD", "included_cents": 0, "purchased_cents": dec(a["credits"]),
                                                   "estimated_requests_remaining": int(cents / 2), "auto_reload_enabled": False}}, rate)
        units = int(self.query.get("fanout", a["fanout"]))
        cost = Decimal(2 * units)
        with self.in_flight(a):
            self.pause()
            with LOCK:
                if remaining(a) < cost:
                    headers = dict(rate, **{"X-Credits-Balance": dec(remaining(a)), "X-Credits-Requests-Remaining": 0})
                    return self.send(402, {"error": {"type": "insufficient_credits", "message": "top up", "request_id": "r2"}}, headers)
                charge(a, cost)
                headers = dict(rate, **{"X-Credits-Balance": dec(remaining(a)),
                                        "X-Credits-Requests-Remaining": int(remaining(a) / 2)})
            self.send(200, {"results": [{"unit": i} for i in range(units)]}, headers)


def main():
    serve(Handler)


if __name__ == "__main__":
    main()
