#!/usr/bin/env bash
# The real workload (issue 22): N scrapers each holding one keep-alive connection, every call
# taking DELAY_MS at the vendor, so N calls are in flight at once. For each N: the direct run
# (clients -> vendor), then creditgate (a fresh process per N) with intercepted HTTPS
# (MODE=tls, default) or plain HTTP clients (MODE=plain). Reports per N: requests, errors, p50/p99
# latency added by the proxy (through minus direct), the proxy's CPU per call (ramp, handshakes
# and calls), its RSS at start (rss0) and at its peak under load, the memory each idle connection
# holds — with its vendor connection still pooled (idle_KB/c) and alone once the pool closed it
# (client_KB/c), both against the RSS 12 s after all closed (after_MB: what a burst leaves, the
# allocator's free pages given back every 10 s) — and the ledger's exactness (budget used = what
# the vendor billed, frozen 0 at the end).
# Usage: bench/slow_load.sh BINARY [N...]      (default N: 1000 5000 10000; `make bench-load`)
#   env: DELAY_MS (2000), SECONDS_PER_RUN (20), IDLE_S (18), MODE (tls|plain), THREADS (2),
#        TOOLS_DIR (where slow_vendor and slow_clients are; default BINARY's build/bench),
#        QUEUE=Q (a max_concurrent Q budget in queue mode: N - Q calls wait on it at once),
#        PEERS=0 (skip squid and mitmproxy, run at N <= 1000 in tls mode)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "$1"); shift
counts=("${@:-1000 5000 10000}")
read -r -a counts <<< "${counts[*]}"
delay=${DELAY_MS:-2000} seconds=${SECONDS_PER_RUN:-20} idle=${IDLE_S:-18} mode=${MODE:-tls}
tools=${TOOLS_DIR:-$(dirname "$binary")/bench}  # slow_vendor and slow_clients (TOOLS_DIR for an older binary)
vendor_bin="$tools/slow_vendor" clients_bin="$tools/slow_clients"
BENCH_NAME=slow . "$here/common.sh"
# Each proxy connection costs two descriptors (the client's and its vendor connection): N = 10k
# needs ~20k. Raise the soft limit as far as the hard one allows (20,000 on the sandboxes these
# figures come from, where N stops at 9,900).
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

make_bench_pki
"$vendor_bin" --cert "$work/pki/server.pem" --key "$work/pki/server.key" --delay-ms "$delay" --threads 1 > "$work/vendor.out" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/vendor.out" 2>/dev/null && break; sleep 0.05; done
vport=$(awk '{print $2}' "$work/vendor.out")
billed() { curl -s --noproxy '*' --cacert "$work/pki/ca.pem" --resolve "bench.local:$vport:127.0.0.1" "https://bench.local:$vport/stats" |
           sed 's/.*"billed":\([0-9]*\).*/\1/'; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# QUEUE=Q: a second budget lets Q calls in at once and queues the rest (N - Q waiters on it).
queue_budget=""
if [ -n "${QUEUE:-}" ]; then
  queue_budget=", { \"id\": \"queue\", \"scope\": { \"team\": \"bench\" }, \"vendor\": \"scraperapi\", \"max_concurrent\": $QUEUE, \"on_exceed\": \"queue\", \"queue_timeout_ms\": 600000 }"
fi

config() {  # the vendor's host bench.local, pinned to the slow vendor, metered against a budget
  cat <<CONF
{
  "listen": "127.0.0.1:0",
  "admin": { "listen": "127.0.0.1:0", "token": "bench" },
  "state_dir": "$work/var-$1",
  "threads": ${THREADS:-2},
  "storage": { "kind": "sqlite" },
  "log": { "level": "warn", "file": "$work/creditgate-$1.log" },
  "tls": { "upstream_ca_file": "$work/pki/ca.pem" },
  "limits": { "upstream_response_s": 120, "client_idle_s": 300, "upstream_idle_s": 5, "max_queue": 100000 },
  "vendors_dir": "$here/../config/vendors",
  "vendors": [ { "use": "scraperapi", "hosts": ["bench.local"], "upstream_tls": "always" } ],
  "resolve": { "bench.local:443": "127.0.0.1:$vport" },
  "clients": [ { "id": "bench", "team": "bench", "secret": "bench-secret" } ],
  "budgets": [ { "id": "bench-credits", "scope": { "team": "bench" }, "vendor": "scraperapi",
                 "limit": 1000000000, "period": "month" }${queue_budget} ]
}
CONF
}

clients() {  # N [proxy args...]: prints the RESULT line
  local n=$1; shift
  "$clients_bin" --target "127.0.0.1:$vport" --host bench.local --connections "$n" --seconds "$seconds" \
    --threads 1 "$@" | tee "$work/clients.out" | grep RESULT
}

# peers N D50 D99: the same N clients through squid (a blind CONNECT tunnel: TLS end to end with
# the vendor) and mitmproxy (interception, like creditgate, trusting the bench CA upstream), each
# CONNECTing to the vendor's real address. Rows: calls, errors, latency added, CPU per call, RSS.
peers() {
  local n=$1 d50=$2 d99=$3 port pid ca
  for peer in squid mitmproxy; do
    port=$(free_port)
    if [ "$peer" = squid ]; then
      mkdir -p "$work/squid"; chmod 777 "$work/squid"
      printf '%s\n' "http_port 127.0.0.1:$port" "http_access allow all" "cache deny all" "cache_mem 8 MB" \
        "access_log none" "cache_log $work/squid/cache.log" "pid_filename $work/squid/squid.pid" \
        "coredump_dir $work/squid" "shutdown_lifetime 1 seconds" "workers 1" "max_filedescriptors 16384" > "$work/squid/squid.conf"
      squid -N -f "$work/squid/squid.conf" & pid=$!
      ca="$work/pki/ca.pem"
    else
      mkdir -p "$work/mitm"
      mitmdump --listen-host 127.0.0.1 --listen-port "$port" --set confdir="$work/mitm" \
        --set ssl_verify_upstream_trusted_ca="$work/pki/ca.pem" -q > "$work/mitm.log" 2>&1 & pid=$!
      for _ in $(seq 200); do [ -f "$work/mitm/mitmproxy-ca-cert.pem" ] && break; sleep 0.05; done
      ca="$work/mitm/mitmproxy-ca-cert.pem"
    fi
    pids+=("$pid")
    wait_port "$port"
    local rss0 t0 t1 rss_peak result requests
    rss0=$(rss_kb "$pid") t0=$(ticks "$pid")
    ( while sleep 0.5; do rss_kb "$pid" 2>/dev/null || echo 0; done ) > "$work/rss-$peer" &
    local sampler=$!
    result=$("$clients_bin" --target "127.0.0.1:$vport" --host bench.local --connections "$n" --seconds "$seconds" \
      --threads 1 --proxy "127.0.0.1:$port" --auth bench:x --connect-to "127.0.0.1:$vport" --ca "$ca" | grep RESULT)
    t1=$(ticks "$pid")
    kill "$sampler" 2>/dev/null || true
    rss_peak=$(sort -n "$work/rss-$peer" | tail -1)
    requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<< "$result")
    local p50 p99
    p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<< "$result") p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<< "$result")
    printf '%-6s %-9s %7s %6s %8s %8s %8s %8s %9s %8s %8s\n' "$n" "$peer" "$requests" \
      "$(sed 's/.*errors=\([0-9]*\).*/\1/' <<< "$result")" "$p50" "$p99" \
      "$($py -c "print(f'{$p50 - $d50:.1f}')")" "$($py -c "print(f'{$p99 - $d99:.1f}')")" \
      "$($py -c "print(f'{($t1 - $t0) * 1e6 / $hz / max(1, $requests):.0f}')")" "$((rss0 / 1024))" "$((rss_peak / 1024))"
    kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  done
}

printf '%-6s %-7s %9s %6s %8s %8s %8s %8s %9s %8s %8s %8s %8s %8s  %s\n' N run requests errors p50_ms p99_ms add_p50 add_p99 \
  cpu_us/call rss0_MB load_MB idle_KB/c client_KB/c after_MB ledger
for n in "${counts[@]}"; do
  direct=$(clients "$n" --ca "$work/pki/ca.pem")
  d50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<< "$direct") d99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<< "$direct")
  printf '%-6s %-7s %9s %6s %8s %8s\n' "$n" direct "$(sed 's/.*requests=\([0-9]*\).*/\1/' <<< "$direct")" \
    "$(sed 's/.*errors=\([0-9]*\).*/\1/' <<< "$direct")" "$d50" "$d99"

  config "$n" > "$work/cg-$n.json"
  start_creditgate "$binary" "$work/cg-$n.json" "cg-$n"
  cg=${pids[-1]}
  admin=$(sed -n 's/.*admin=\([0-9.:]*\).*/\1/p' "$work/cg-$n.out")
  rss0=$(rss_kb "$cg") t0=$(ticks "$cg") b0=$(billed)
  args=(--proxy "127.0.0.1:$cg_port" --auth bench:bench-secret --idle "$idle")
  if [ "$mode" = plain ]; then args+=(--plain 1 --ca "$work/pki/ca.pem"); else args+=(--ca "$work/var-$n/ca/creditgate-ca.pem"); fi
  peak=0
  ( while sleep 0.5; do r=$(rss_kb "$cg" 2>/dev/null || echo 0); echo "$r"; done ) > "$work/rss-$n" &
  sampler=$!
  "$clients_bin" --target "127.0.0.1:$vport" --host bench.local --connections "$n" --seconds "$seconds" \
    --threads 1 "${args[@]}" > "$work/clients-$n.out" &
  cl=$!
  # The idle phase: every connection open, nothing in flight.
  for _ in $(seq $((seconds * 4 + 400))); do grep -q IDLE "$work/clients-$n.out" 2>/dev/null && break; sleep 0.25; done
  t1=$(ticks "$cg")
  sleep 2
  rss_idle=$(rss_kb "$cg")  # every client connection idle, its vendor connection idle in the pool
  sleep 12                  # the pool closed those (upstream_idle_s 5) and free memory went back
  rss_client=$(rss_kb "$cg")
  wait "$cl"
  kill "$sampler" 2>/dev/null || true
  peak=$(sort -n "$work/rss-$n" | tail -1)
  sleep 12  # past the 10 s release of free memory
  rss_after=$(rss_kb "$cg")
  result=$(grep RESULT "$work/clients-$n.out")
  requests=$(sed 's/.*requests=\([0-9]*\).*/\1/' <<< "$result")
  p50=$(sed 's/.*p50_ms=\([0-9.]*\).*/\1/' <<< "$result") p99=$(sed 's/.*p99_ms=\([0-9.]*\).*/\1/' <<< "$result")
  sleep 1  # the ledger writer's last flush
  budget=$(curl -s --noproxy '*' -H 'Authorization: Bearer bench' "http://$admin/api/v1/budgets")
  used=$($py -c 'import json,sys; b=json.load(sys.stdin)["budgets"][0]; print(b["used"], b["frozen"])' <<< "$budget")
  b1=$(billed)
  ledger="used=${used% *} frozen=${used#* } billed=$((b1 - b0))"
  printf '%-6s %-7s %9s %6s %8s %8s %8s %8s %9s %8s %8s %8s %8s %8s  %s\n' "$n" "$mode" "$requests" \
    "$(sed 's/.*errors=\([0-9]*\).*/\1/' <<< "$result")" "$p50" "$p99" \
    "$($py -c "print(f'{$p50 - $d50:.1f}')")" "$($py -c "print(f'{$p99 - $d99:.1f}')")" \
    "$($py -c "print(f'{($t1 - $t0) * 1e6 / $hz / max(1, $requests):.0f}')")" \
    "$((rss0 / 1024))" "$((peak / 1024))" "$(( (rss_idle - rss_after) / n ))" "$(( (rss_client - rss_after) / n ))" \
    "$((rss_after / 1024))" "$ledger"
  kill -TERM "$cg"; wait "$cg" 2>/dev/null || true
  [ "${PEERS:-1}" = 1 ] && [ "$n" -le 1000 ] && [ "$mode" = tls ] && peers "$n" "$d50" "$d99"
done
