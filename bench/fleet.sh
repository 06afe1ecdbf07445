#!/usr/bin/env bash
# The fleet on PostgreSQL (issue 18, SPEC §10), all in one run on loopback: a PostgreSQL 15 of
# its own (tests/support/pg.py, in the scratch folder), nginx serving 1 KiB as the vendor.
#  1. Throughput far from the limit: one instance on SQLite, then two instances on PostgreSQL
#     sharing one budget, each driven by wrk -t1 -c16 at once (alternating rounds, medians).
#  2. Calls per central round trip in 1: calls admitted per lease request (granted or denied) and
#     per exchange (one transaction each; creditgate_lease_exchanges_total).
#  3. The last 1%: both instances run a budget of LIMIT credits dry; lease requests and exchanges
#     from the moment the fleet's used reached 99% of the limit to the end, and whether exactly
#     LIMIT calls reached the vendor.
# Usage: bench/fleet.sh [path/to/creditgate] [rounds] [seconds] [limit]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "${1:-$here/../build/creditgate}")
rounds=${2:-3}
duration=${3:-10}
limit=${4:-20000}
BENCH_NAME=fleet . "$here/common.sh"

serve_1k_file
$py "$here/../tests/support/pg.py" start "$work/pg" >/dev/null
stop_pg() { $py "$here/../tests/support/pg.py" stop "$work/pg" >/dev/null 2>&1 || true; cleanup; }
trap stop_pg EXIT
pg_url=$(cat "$work/pg/url")
psql_q() { runuser -u postgres -- psql -h "$work/pg" -U postgres -d creditgate -At -c "$1" 2>/dev/null || psql -h "$work/pg" -U postgres -d creditgate -At -c "$1"; }

# fleet_config NAME BUDGET_LIMIT BUDGET_ID: bench_config with the PostgreSQL store and that budget.
fleet_config() {
  bench_config postgres "$1" | sed \
    -e "s|\"id\": \"bench-credits\"|\"id\": \"$3\"|" \
    -e "s|\"storage\": { \"kind\": \"postgres\" }|\"storage\": { \"kind\": \"postgres\", \"url\": \"$pg_url\", \"instance\": \"$1\", \"flush_ms\": 100, \"lease\": { \"target_s\": 10, \"ttl_s\": 30 } }|" \
    -e "s|\"limit\": 1000000000|\"limit\": $2|"
}

url_path="http://bench.local:$nginx_port/1k.bin"
auth="Basic $(printf 'bench:bench-secret' | base64)"
wrk_run() {  # port connections seconds
  TARGET="$url_path" PROXY_AUTH="$auth" wrk -t1 -c"$2" -d"$3s" --latency -s "$here/wrk_proxy.lua" \
    "http://127.0.0.1:$1/1k.bin" | grep '^RESULT'
}
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }
admin_port() { sed -n 's/.*admin=127.0.0.1:\([0-9]*\).*/\1/p' "$work/$1.out"; }
lease_requests() {  # instance name: granted + denied so far
  curl -s -H 'Authorization: Bearer bench' "http://127.0.0.1:$(admin_port "$1")/metrics" |
    awk '/^creditgate_lease_requests_total\{result="(granted|denied)"\}/ { n += $2 } END { print n + 0 }'
}
exchanges() {  # instance name: exchanges (transactions) with the central rows so far
  curl -s -H 'Authorization: Bearer bench' "http://127.0.0.1:$(admin_port "$1")/metrics" |
    awk '/^creditgate_lease_exchanges_total / { print $2 }'
}

# ---- 1 and 2: far from the limit ----
bench_config sqlite sqlite > "$work/sqlite.json"
fleet_config a 1000000000 far > "$work/a.json"
fleet_config b 1000000000 far > "$work/b.json"
start_creditgate "$binary" "$work/sqlite.json" sqlite; sqlite_port=$cg_port
start_creditgate "$binary" "$work/a.json" a; a_port=$cg_port
start_creditgate "$binary" "$work/b.json" b; b_port=$cg_port
wrk_run "$sqlite_port" 32 2 >/dev/null; wrk_run "$a_port" 16 2 >/dev/null; wrk_run "$b_port" 16 2 >/dev/null  # warm-up

sqlite_rps=(); fleet_rps=(); per_lease=(); per_commit=()
for r in $(seq "$rounds"); do
  sqlite_rps+=("$(wrk_run "$sqlite_port" 32 "$duration" | field rps)")
  leases0=$(( $(lease_requests a) + $(lease_requests b) )); commits0=$(( $(exchanges a) + $(exchanges b) ))
  wrk_run "$a_port" 16 "$duration" > "$work/wa" & wa=$!
  wrk_run "$b_port" 16 "$duration" > "$work/wb" & wb=$!
  wait $wa $wb
  leases=$(( $(lease_requests a) + $(lease_requests b) - leases0 )); xacts=$(( $(exchanges a) + $(exchanges b) - commits0 ))
  ra=$(field rps < "$work/wa"); rb=$(field rps < "$work/wb")
  na=$(field requests < "$work/wa"); nb=$(field requests < "$work/wb")
  fleet_rps+=("$(echo "$ra + $rb" | bc)")
  per_lease+=("$(( (na + nb) / (leases > 0 ? leases : 1) ))")
  per_commit+=("$(( (na + nb) / (xacts > 0 ? xacts : 1) ))")
  ea=$(field errors < "$work/wa"); eb=$(field errors < "$work/wb")
  echo "round $r: sqlite ${sqlite_rps[-1]} req/s; fleet ${fleet_rps[-1]} req/s ($ra + $rb), $((na + nb)) calls ($((ea + eb)) errors)," \
       "$leases lease requests, $xacts transactions"
done
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
echo "one instance, SQLite:       $(median "${sqlite_rps[@]}") req/s (median of $rounds)"
echo "two instances, PostgreSQL:  $(median "${fleet_rps[@]}") req/s together"
echo "calls per lease request:    $(median "${per_lease[@]}")"
echo "calls per exchange (xact):  $(median "${per_commit[@]}")"

# ---- 3: the last 1% ----
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done  # every creditgate so far (not nginx)
# A database of its own: a new central row counts the ledger's rows of its window, and phase 1's
# would fill this budget at once.
psql_q "CREATE DATABASE last1" >/dev/null
pg_url="${pg_url/dbname=creditgate/dbname=last1}"
fleet_config c "$limit" last > "$work/c.json"
fleet_config d "$limit" last > "$work/d.json"
start_creditgate "$binary" "$work/c.json" c; c_port=$cg_port
start_creditgate "$binary" "$work/d.json" d; d_port=$cg_port
$py - "$work" "$(admin_port c)" "$(admin_port d)" "$limit" <<'PY' &
import json, sys, time, urllib.request
work, ports, limit = sys.argv[1], sys.argv[2:4], int(sys.argv[4])
def get(port, path):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Authorization": "Bearer bench"})
    return urllib.request.urlopen(req, timeout=5).read().decode()
def leases():
    n = x = 0
    for p in ports:
        for line in get(p, "/metrics").splitlines():
            if line.startswith('creditgate_lease_requests_total{result="granted"}') or line.startswith('creditgate_lease_requests_total{result="denied"}'):
                n += int(line.split()[1])
            if line.startswith('creditgate_lease_exchanges_total '):
                x += int(line.split()[1])
    return n, x
def used():
    return float(json.loads(get(ports[0], "/api/v1/budgets"))["budgets"][0]["used"])
at99 = None
while True:
    u = used()
    if at99 is None and u >= 0.99 * limit:
        at99 = (leases(), time.time())
    if u >= limit:
        break
    time.sleep(0.01)
end = leases()
with open(f"{work}/last1", "w") as f:
    f.write(f"{end[0] - at99[0][0]} {end[1] - at99[0][1]} {time.time() - at99[1]:.2f}\n")
PY
sampler=$!
wrk_run "$c_port" 16 $((duration * 3)) > "$work/wc" & wc=$!
wrk_run "$d_port" 16 $((duration * 3)) > "$work/wd" & wd=$!
wait $sampler
kill $wc $wd 2>/dev/null || true; wait $wc $wd 2>/dev/null || true
sleep 1
for p in "${pids[@]:1}"; do kill "$p" 2>/dev/null || true; done  # a graceful stop writes every row
sleep 2
allowed=$(runuser -u postgres -- psql -h "$work/pg" -U postgres -d last1 -At -c "SELECT count(*) FROM creditgate_calls WHERE decision = 'allowed'")
read -r last_leases last_exchanges last_seconds < "$work/last1"
echo "last 1% of $limit credits: $last_leases lease requests in $last_exchanges exchanges over ${last_seconds} s;" \
     "$allowed calls admitted in all (limit $limit)"
