#!/usr/bin/env bash
# Where a proxied request's CPU goes, for creditgate and for nginx as a bare reverse proxy, in one
# run: perf samples each proxy's process over the same wrk -t1 -c32 load and splits its CPU per
# request into kernel and user space. Needs perf (Debian: linux-perf) and the right to profile
# one's own processes (kernel.perf_event_paranoid <= 2).
# Usage: bench/perf_split.sh [path/to/creditgate] [seconds]   (KIND=sqlite for that ledger)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "${1:-$here/../build/creditgate}")
duration=${2:-5}
BENCH_NAME=perf . "$here/common.sh"

serve_1k_file
relay_port=$(free_port)
start_nginx "upstream origin { server 127.0.0.1:$nginx_port; keepalive 64; }
  server { listen 127.0.0.1:$relay_port;
           location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }" relay
wait_port "$relay_port"
bench_config "${KIND:-memory}" > "$work/creditgate.json"
start_creditgate "$binary" "$work/creditgate.json"
cg_pid=${pids[-1]}
sleep 0.3
relay_pid=$(pgrep -f "nginx: worker" -P "$(cat "$work/relay/nginx.pid")")

url_path="http://bench.local:$nginx_port/1k.bin"
auth="Basic $(printf 'bench:bench-secret' | base64)"
profile() {  # NAME PORT PID AUTH
  TARGET="$url_path" PROXY_AUTH="$4" wrk -t1 -c32 -d2s -s "$here/wrk_proxy.lua" "http://127.0.0.1:$2/1k.bin" > /dev/null
  perf record -q -F 1999 -p "$3" -o "$work/$1.data" -- sleep "$duration" 2>/dev/null &
  local perf_pid=$!
  local out
  out=$(TARGET="$url_path" PROXY_AUTH="$4" wrk -t1 -c32 -d"${duration}s" -s "$here/wrk_proxy.lua" "http://127.0.0.1:$2/1k.bin" | grep '^RESULT')
  wait "$perf_pid"
  local requests rps ns kernel
  requests=$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<< "$out")
  rps=$(sed -n 's/.*rps=\([0-9.]*\).*/\1/p' <<< "$out")
  ns=$(perf report -i "$work/$1.data" --stdio --sort dso 2>/dev/null | sed -n 's/^# Event count (approx.): //p')
  kernel=$(perf report -i "$work/$1.data" --stdio --sort dso 2>/dev/null | awk '/\[kernel\.kallsyms\]/ { sub("%", "", $1); print $1 }')
  $py -c "
n, ns, k = $requests, $ns, ${kernel:-0} / 100
us = ns / 1000 / n
print(f'{\"$1\":14}{$rps:>9.0f}{us:>9.1f}{us * k:>9.1f}{us * (1 - k):>9.1f}{100 * k:>8.0f}%')"
}
echo "$(printf '%-14s%9s%9s%9s%9s%9s' '' 'req/s' 'µs/req' 'kernel' 'user' 'kernel')"
profile creditgate "$cg_port" "$cg_pid" "$auth"
profile nginx-proxy "$relay_port" "$relay_pid" ""
