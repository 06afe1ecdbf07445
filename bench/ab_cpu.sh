#!/usr/bin/env bash
# Two creditgate binaries side by side behind one nginx, in alternating rounds: req/s, p99 and
# the proxy's own CPU per request (user and system µs, from /proc before and after each run).
# CPU per request is the steadier figure on a shared two-core box, where req/s of single runs
# moves by ±15% with where the scheduler puts the worker.
# Usage: bench/ab_cpu.sh OLD_BINARY NEW_BINARY [rounds] [seconds]   (KIND=sqlite for that ledger;
#        HASHED_SECOND=1: the second's client secret stored as a secret_hash)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binaries=("$(realpath "$1")" "$(realpath "$2")")
rounds=${3:-6}
duration=${4:-5}
kind=${KIND:-memory}
BENCH_NAME=ab . "$here/common.sh"

serve_1k_file

ports=() cg_pids=()
for i in 0 1; do
  # HASHED_SECOND=1: the second proxy's client has a secret_hash of the same secret (issue 21).
  if [ "$i" = 1 ] && [ "${HASHED_SECOND:-0}" = 1 ]; then
    BENCH_SECRET_FIELD="\"secret_hash\": \"$(printf 'bench-secret' | "${binaries[1]}" hash-secret)\""
    export BENCH_SECRET_FIELD
  fi
  bench_config "$kind" "ab-$i" > "$work/cg-$i.json"
  start_creditgate "${binaries[$i]}" "$work/cg-$i.json" "cg-$i"
  ports+=("$cg_port")
  cg_pids+=("${pids[-1]}")
done

auth="Basic $(printf 'bench:bench-secret' | base64)"
run() {  # INDEX SECONDS: prints "rps p99_us requests"
  TARGET="http://bench.local:$nginx_port/1k.bin" PROXY_AUTH="$auth" \
    wrk -t1 -c32 -d"$2"s --latency -s "$here/wrk_proxy.lua" "http://127.0.0.1:${ports[$1]}/1k.bin" |
    sed -n 's/^RESULT rps=\([0-9.]*\) .*p99_us=\([0-9]*\) requests=\([0-9]*\).*/\1 \2 \3/p'
}
ticks() { awk '{print $14, $15}' "/proc/$1/stat"; }
for i in 0 1; do run "$i" 1 > /dev/null; done  # warm-up: connections, pools, caches

hz=$(getconf CLK_TCK)
for r in $(seq "$rounds"); do
  for i in 0 1; do
    read -r u0 s0 < <(ticks "${cg_pids[$i]}")
    read -r rps p99 n < <(run "$i" "$duration")
    read -r u1 s1 < <(ticks "${cg_pids[$i]}")
    echo "$i $rps $p99 $(( (u1 - u0) * 1000000 / hz )) $(( (s1 - s0) * 1000000 / hz )) $n"
  done
done > "$work/rounds"

$py - "$work/rounds" "${binaries[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
print(f"{'':12} {'req/s':>8} {'p99 ms':>7} {'user µs/req':>12} {'sys µs/req':>11}   (medians of {len(rows) // 2} rounds)")
for i, name in enumerate(["old", "new"]):
    mine = [r for r in rows if r[0] == str(i)]
    med = lambda f: statistics.median(f(r) for r in mine)
    print(f"{name:12} {med(lambda r: float(r[1])):8.0f} {med(lambda r: int(r[2])) / 1000:7.2f} "
          f"{med(lambda r: int(r[3]) / int(r[5])):12.2f} {med(lambda r: int(r[4]) / int(r[5])):11.2f}   {sys.argv[2 + i]}")
PY
