#!/usr/bin/env bash
# Two creditgate binaries side by side behind one nginx TLS origin (ECDSA P-256, TLS 1.2 and 1.3),
# through HTTPS interception, in alternating rounds: hey -c32 with keep-alive and with a new client
# connection per call. Prints the medians: req/s, p99 and the proxy's own CPU per call.
# CPU per call is the steadier figure on a shared two-core box (see ab_cpu.sh).
# Usage: bench/ab_tls.sh OLD_BINARY NEW_BINARY [rounds] [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binaries=("$(realpath "$1")" "$(realpath "$2")")
rounds=${3:-5}
duration=${4:-5}
connections=${CONNECTIONS:-32}
BENCH_NAME=ab-tls . "$here/common.sh"

serve_1k_tls

ports=() cg_pids=()
for i in 0 1; do
  bench_config memory "tls-$i" always "\"tls\": { \"mitm\": true, \"upstream_ca_file\": \"$work/pki/ca.pem\" }," \
    > "$work/cg-$i.json"
  start_creditgate "${binaries[$i]}" "$work/cg-$i.json" "cg-$i"
  ports+=("$cg_port")
  cg_pids+=("${pids[-1]}")
done
cat "$work/var-tls-0/ca/creditgate-ca.pem" "$work/var-tls-1/ca/creditgate-ca.pem" > "$work/trust.pem"
export SSL_CERT_FILE="$work/trust.pem"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {  # INDEX MODE SECONDS: prints "rps p99_s calls proxy_ticks"
  local extra=(-x "http://bench:bench-secret@127.0.0.1:${ports[$1]}")
  [ "$2" = new-conn ] && extra+=(-disable-keepalive)
  local t0 t1 out
  t0=$(ticks "${cg_pids[$1]}")
  out=$(hey -z "$3s" -c "$connections" "${extra[@]}" "https://bench.local:$nginx_port/1k.bin" 2>&1)
  t1=$(ticks "${cg_pids[$1]}")
  echo "$(echo "$out" | sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p') \
$(echo "$out" | sed -n 's/.*99% in \([0-9.]*\) secs.*/\1/p') \
$(echo "$out" | awk '/^ *\[[0-9]+\]/ { n += $2 } END { print n + 0 }') $((t1 - t0))"
}
for i in 0 1; do for mode in keepalive new-conn; do run "$i" "$mode" 1 > /dev/null; done; done  # warm-up

for r in $(seq "$rounds"); do
  for mode in keepalive new-conn; do
    for i in 0 1; do echo "$i $mode $(run "$i" "$mode" "$duration")"; done
  done
done > "$work/rounds"

$py - "$work/rounds" "$(getconf CLK_TCK)" "${binaries[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
hz = int(sys.argv[2])
print(f"{'':5} {'mode':10} {'req/s':>8} {'p99 ms':>7} {'proxy CPU ms/call':>18}   (medians of {len(rows) // 4} rounds)")
for mode in ("keepalive", "new-conn"):
    for i, name in enumerate(["old", "new"]):
        mine = [r for r in rows if r[0] == str(i) and r[1] == mode]
        med = lambda f: statistics.median(f(r) for r in mine)
        print(f"{name:5} {mode:10} {med(lambda r: float(r[2])):8.0f} {med(lambda r: float(r[3])) * 1000:7.2f} "
              f"{med(lambda r: int(r[5]) / hz * 1000 / max(1, int(r[4]))):18.4f}   {sys.argv[3 + i]}")
PY
