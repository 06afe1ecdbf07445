#!/usr/bin/python3
"""Fills a creditgate SQLite ledger with synthetic history: N finished calls spread over the D
days before today (UTC), with the per-day roll-up the ledger writer keeps (usage_daily) summed
from the same rows. For the usage bench (10 million rows over 90 days) and for tests that need
days in the past. The database must exist (any `creditgate serve` on its state_dir creates it).

    bench/gen_ledger.py LEDGER.db --rows 10000000 --days 90 [--seed 1]
"""

import argparse
import random
import sqlite3
import sys
import time

DAY_MS = 86_400_000
# vendor -> (unit price in µ credits per call choices, µ dollars per µ credit numerator, denominator)
VENDORS = {
    "scraperapi": ([1_000_000, 5_000_000, 10_000_000, 25_000_000], 49, 100_000),   # $0.00049 per credit
    "crustdata": ([1_000_000, 3_000_000], 1, 100),                                  # $0.01 per credit
    "helius": ([1_000_000, 10_000_000, 100_000_000], 5, 1_000_000),                  # $0.000005
    "neuji": ([2_000_000, 4_000_000], 1, 100),                                       # $0.01 per cent
    "multicart": ([1_000_000, 2_000_000], 1, 1_000),                                 # $0.001
}


def clients_of(count):
    teams = ["growth", "research", "pricing", "ops"]
    return [(f"client-{i:02d}", teams[i % len(teams)]) for i in range(count)]


def generate(rows, days, seed, clients, vendors, today_day):
    """Yields call tuples in admitted_at order; the caller sums the roll-up."""
    rng = random.Random(seed)
    first_ms = (today_day - days + 1) * DAY_MS
    span = days * DAY_MS
    step = span / max(rows, 1)
    vendor_names = list(vendors)
    for i in range(rows):
        at = first_ms + int(i * step) + rng.randrange(max(int(step), 1))
        client, team = clients[rng.randrange(len(clients))]
        vendor = vendor_names[rng.randrange(len(vendor_names))]
        prices, num, den = vendors[vendor]
        estimate = prices[rng.randrange(len(prices))]
        roll = rng.random()
        if roll < 0.90:
            status, decision, actual = 200, "allowed", estimate
        elif roll < 0.96:
            status, decision, actual = 500, "allowed", 0
        else:
            status, decision, actual = 402, "rejected", 0
        latency = 0 if decision == "rejected" else 40 + rng.randrange(900)
        cost = actual * num // den
        yield (i + 1, at, at + latency, f"gen-{i + 1}", client, team, vendor, f"{vendor}-main", "GET",
               f"api.{vendor}.com", "/v1/search", status, decision, estimate, actual, cost, latency)


def seed(path, rows, days, seed_value=1, client_count=20, vendors=None, today_day=None):
    """Writes the rows and their roll-up; returns {day: requests} for checks."""
    vendors = vendors or VENDORS
    today_day = today_day if today_day is not None else int(time.time() // 86400)
    clients = clients_of(client_count)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    start_id = db.execute("SELECT COALESCE(MAX(id), 0) FROM calls").fetchone()[0]
    rollup = {}
    per_day = {}

    def rows_with_rollup():
        for r in generate(rows, days, seed_value, clients, vendors, today_day):
            (i, at, _fin, _rid, client, team, vendor, account, *_rest) = r
            status, decision, _est, actual, cost, latency = r[11], r[12], r[13], r[14], r[15], r[16]
            day = at // DAY_MS
            key = (day, client, team, vendor, account)
            s = rollup.setdefault(key, [0, 0, 0, 0, 0, 0, 0])
            s[0] += 1
            s[1] += 1 if decision != "rejected" and status < 400 else 0
            s[2] += 1 if decision == "rejected" else 0
            s[3] += actual
            s[4] += cost
            if decision != "rejected":
                s[5] += latency
                s[6] += 1
            per_day[day] = per_day.get(day, 0) + 1
            yield (start_id + i,) + r[1:]

    with db:
        db.executemany("INSERT INTO calls (id, admitted_at, finished_at, request_id, client, team, vendor, account, method,"
                       " host, path, status, decision, estimate, actual, cost_usd, latency_ms)"
                       " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows_with_rollup())
        db.executemany("INSERT INTO usage_daily VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
                       " ON CONFLICT (day, client, team, vendor, account) DO UPDATE SET"
                       " requests = requests + excluded.requests, succeeded = succeeded + excluded.succeeded,"
                       " rejected = rejected + excluded.rejected, credits = credits + excluded.credits,"
                       " cost_usd = cost_usd + excluded.cost_usd, latency_sum = latency_sum + excluded.latency_sum,"
                       " latency_n = latency_n + excluded.latency_n",
                       [k + tuple(v) for k, v in rollup.items()])
    db.close()
    return per_day


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("ledger")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--clients", type=int, default=20)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    t0 = time.monotonic()
    per_day = seed(a.ledger, a.rows, a.days, a.seed, a.clients)
    print(f"{a.rows} rows over {len(per_day)} days in {time.monotonic() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
