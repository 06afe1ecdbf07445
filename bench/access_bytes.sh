#!/usr/bin/env bash
# Bytes per access line and per ledger row (issue 21): N metered calls through the proxy, once with
# log.format text and once json; prints the access lines' count and mean size, and the SQLite
# ledger's size per call (after a VACUUM, so free pages do not count).
# Usage: bench/access_bytes.sh BINARY [calls]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "$1")
calls=${2:-20000}
BENCH_NAME=bytes . "$here/common.sh"

serve_1k_file
auth="Basic $(printf 'bench:bench-secret' | base64)"
for format in text json; do
  bench_config sqlite "$format" never "\"tls\": { \"mitm\": false }," |
    sed "s/\"level\": \"info\"/\"level\": \"info\", \"format\": \"$format\"/" > "$work/$format.json"
  start_creditgate "$binary" "$work/$format.json" "$format"
  # wrk stops on time, not count: run until at least $calls lines exist.
  TARGET="http://bench.local:$nginx_port/1k.bin" PROXY_AUTH="$auth" \
    wrk -t1 -c8 -d3s -s "$here/wrk_proxy.lua" "http://127.0.0.1:$cg_port/1k.bin" > /dev/null
  kill -TERM "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  grep -a 'access' "$work/creditgate-$format.log" | grep -a 'bench.local' |
    awk -v f="$format" '{n++; b+=length($0)+1} END {printf "%-5s %8d access lines, %6.1f bytes each\n", f, n, b/n}'
  rows=$(sqlite3 "$work/var-$format/creditgate.db" 'select count(*) from calls' 2>/dev/null || echo 0)
  sqlite3 "$work/var-$format/creditgate.db" 'vacuum' 2>/dev/null || true
  size=$(stat -c %s "$work/var-$format/creditgate.db")
  [ "$rows" -gt 0 ] && echo "      ledger: $rows calls, $((size / rows)) bytes per call (SQLite file after VACUUM, roll-ups included)"
done
