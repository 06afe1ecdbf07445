#!/usr/bin/env bash
# HTTPS benchmark, all in one run: nginx serves 1 KiB over TLS (ECDSA P-256); hey measures it
# directly, through creditgate's interception (hey -x: CONNECT, then TLS to creditgate's leaf;
# creditgate meters and forwards over a pooled, verified TLS connection), and through mitmproxy.
# Keep-alive, and a new client connection per call (-disable-keepalive).
# nginx offers TLS 1.2 and 1.3 like creditgate (ORIGIN_TLS="TLSv1.2" for bookworm nginx's own
# default): with OpenSSL 3.0 a TLS 1.3 handshake costs about 1.3x a TLS 1.2 one, so comparing a
# TLS 1.2 direct run with a TLS 1.3 interception measures the protocol, not the proxy.
# Usage: bench/run_tls.sh [path/to/creditgate] [rounds] [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "${1:-$here/../build/creditgate}")
rounds=${2:-3}
duration=${3:-10}
connections=${CONNECTIONS:-32}
BENCH_NAME=bench-tls . "$here/common.sh"

serve_1k_tls "${ORIGIN_TLS:-TLSv1.2 TLSv1.3}"
nginx_pid=${pids[-1]}

# --- creditgate: bench.local is a vendor reached over verified TLS; interception on ---
bench_config memory tls always "\"tls\": { \"mitm\": true, \"upstream_ca_file\": \"$work/pki/ca.pem\" }," \
  > "$work/creditgate.json"
start_creditgate "$binary" "$work/creditgate.json"
cg_pid=${pids[-1]}

# --- mitmproxy: the peer interceptor, trusting the bench CA upstream ---
mitm_port=$(free_port)
mkdir -p "$work/mitm"
mitmdump --listen-host 127.0.0.1 --listen-port "$mitm_port" --set confdir="$work/mitm" \
  --set ssl_verify_upstream_trusted_ca="$work/pki/ca.pem" -q > "$work/mitm.log" 2>&1 &
pids+=($!)
mitm_pid=$!
wait_port "$mitm_port"
for _ in $(seq 100); do [ -f "$work/mitm/mitmproxy-ca-cert.pem" ] && break; sleep 0.05; done

# hey (Go) trusts SSL_CERT_FILE: the bench CA (direct), creditgate's CA and mitmproxy's.
cat "$work/pki/ca.pem" "$work/var-tls/ca/creditgate-ca.pem" "$work/mitm/mitmproxy-ca-cert.pem" > "$work/trust.pem"
export SSL_CERT_FILE="$work/trust.pem"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# CPU seconds (user + system) used so far by the given processes.
cpu_seconds() { [ $# -gt 0 ] || { echo 0; return; }; cat "${@/#//proc/}" 2>/dev/null | awk -v hz="$(getconf CLK_TCK)" '{ t += $14 + $15 } END { printf "%.3f", t / hz }'; }
cpu_seconds_of() { local p=(); for pid in "$@"; do p+=("$pid/stat"); done; cpu_seconds "${p[@]}"; }
nginx_workers() { pgrep -d ' ' -P "$nginx_pid"; }
# TCP connections opened so far on this host (connect() calls, /proc/net/snmp's ActiveOpens).
tcp_opens() { awk '/^Tcp:/ { if (!col) { for (i = 1; i <= NF; i++) if ($i == "ActiveOpens") col = i } else print $col }' /proc/net/snmp; }

# hey (Go's transport) sometimes falls into dialing a new connection every few calls of a
# keep-alive run and stays there for the run: 13k req/s with a handshake per ~4 calls instead of
# 46k. A keep-alive round that opened more than 4 connections per client connection (a proxy opens
# its own upstream ones too) measured that, not the server: it is run again, up to twice, and the
# line says how many tries it took.
run() {  # name mode proxy-url target
  local tries=1 line
  while :; do
    line=$(run_once "$@")
    local opens calls
    opens=$(echo "$line" | sed -n 's/.*new_conns=\([0-9]*\).*/\1/p')
    calls=$(echo "$line" | sed -n 's/.*calls=\([0-9]*\).*/\1/p')
    if [ "$2" = keepalive ] && [ "$opens" -gt $((4 * connections)) ] && [ "$tries" -lt 3 ]; then
      echo "($1 keep-alive: hey opened $opens connections for $calls calls; run again)" >&2
      tries=$((tries + 1))
      continue
    fi
    echo "$line tries=$tries"
    return
  done
}

run_once() {  # name mode proxy-url target
  local extra=()
  [ "$2" = "new-conn" ] && extra+=(-disable-keepalive)
  [ -n "$3" ] && extra+=(-x "$3")
  # Where the CPU goes per call: the client (hey, from bash's `times` for the subshell's
  # children), the proxy and the origin (nginx's workers), from /proc before and after.
  local proxy_pid=""
  [ "$1" = creditgate ] && proxy_pid=$cg_pid
  [ "$1" = mitmproxy ] && proxy_pid=$mitm_pid
  local workers proxy0 origin0 proxy1 origin1 out
  workers=$(nginx_workers)
  # shellcheck disable=SC2086
  origin0=$(cpu_seconds_of $workers); proxy0=$([ -n "$proxy_pid" ] && cpu_seconds_of "$proxy_pid" || echo 0)
  local opens0 opens1
  opens0=$(tcp_opens)
  out=$(hey -z "${duration}s" -c "$connections" "${extra[@]}" "$4" 2>&1; times)
  opens1=$(tcp_opens)
  # shellcheck disable=SC2086
  origin1=$(cpu_seconds_of $workers); proxy1=$([ -n "$proxy_pid" ] && cpu_seconds_of "$proxy_pid" || echo 0)
  echo "$out" > "$work/hey-$1-$2.txt"
  local rps p99 errors calls client
  rps=$(echo "$out" | sed -n 's/.*Requests\/sec:[[:space:]]*\([0-9.]*\).*/\1/p')
  p99=$(echo "$out" | sed -n 's/.*99% in \([0-9.]*\) secs.*/\1/p')
  errors=$(echo "$out" | grep -c 'Error distribution' || true)
  calls=$(echo "$out" | awk '/^ *\[[0-9]+\]/ { n += $2 } END { print n + 0 }')
  client=$(echo "$out" | tail -1)  # the children's user and system time, as "0m1.234s 0m0.567s"
  $py - "$1" "$2" "${rps:-0}" "${p99:-0}" "$errors" "$calls" "$client" "$proxy0" "$proxy1" "$origin0" "$origin1" \
    $((opens1 - opens0)) <<'PY'
import re, sys
name, mode, rps, p99, errors, calls, client, p0, p1, o0, o1, opens = sys.argv[1:]
secs = sum(int(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", client))
per_call = lambda seconds: round(seconds * 1000 / max(int(calls), 1), 3)
print(f"{name} mode={mode} rps={rps} p99_ms={round(float(p99) * 1000, 2)} errors={errors} "
      f"cpu_client_ms={per_call(secs)} cpu_proxy_ms={per_call(float(p1) - float(p0))} "
      f"cpu_origin_ms={per_call(float(o1) - float(o0))} calls={calls} new_conns={opens}")
PY
}

direct="https://127.0.0.1:$nginx_port/1k.bin"
vendor="https://bench.local:$nginx_port/1k.bin"
cg="http://bench:bench-secret@127.0.0.1:$cg_port"
mitm="http://127.0.0.1:$mitm_port"
# What the client's handshakes negotiate, for the record (hey does not say).
direct_tls=$(openssl s_client -brief -connect "127.0.0.1:$nginx_port" -CAfile "$work/pki/ca.pem" < /dev/null 2>&1 |
  sed -n 's/^Protocol version: //p')
cg_tls=$(curl -sv -o /dev/null --cacert "$work/trust.pem" -x "$cg" "$vendor" 2>&1 | sed -n 's/.*SSL connection using \([^ ]*\).*/\1/p')
echo "client TLS: direct $direct_tls, through creditgate $cg_tls"
run warm keepalive "$cg" "$vendor" > /dev/null
results="$work/results.txt"
for r in $(seq "$rounds"); do
  run direct keepalive "" "$direct" | tee -a "$results"
  run creditgate keepalive "$cg" "$vendor" | tee -a "$results"
  run mitmproxy keepalive "$mitm" "$direct" | tee -a "$results"
  run direct new-conn "" "$direct" | tee -a "$results"
  run creditgate new-conn "$cg" "$vendor" | tee -a "$results"
done
grep -q "status=200" "$work/creditgate-tls.log" || { echo "creditgate served nothing" >&2; exit 1; }

$py - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, *fields = line.split()
    f = dict(x.split("=") for x in fields)
    runs.setdefault((name, f["mode"]), []).append(f)
cols = ("rps", "p99_ms", "errors", "cpu_client_ms", "cpu_proxy_ms", "cpu_origin_ms")
med = {k: {m: statistics.median(float(r[m]) for r in v) for m in cols} for k, v in runs.items()}
print(f"\n{'':24}{'req/s':>10}{'p99 ms':>9}{'errors':>8}{'× direct':>10}   CPU ms per call: client  proxy  origin")
for mode in ("keepalive", "new-conn"):
    d = med[("direct", mode)]
    for name in ("direct", "creditgate", "mitmproxy"):
        if (name, mode) not in med: continue
        m = med[(name, mode)]
        print(f"{name + ' ' + mode:24}{m['rps']:>10.0f}{m['p99_ms']:>9.2f}{m['errors']:>8.0f}{m['rps']/d['rps']:>10.2f}"
              f"{m['cpu_client_ms']:>29.3f}{m['cpu_proxy_ms']:>7.3f}{m['cpu_origin_ms']:>8.3f}")
ka = med[("creditgate", "keepalive")]["rps"]
print(f"\ncreditgate keep-alive: {ka/med[('direct','keepalive')]['rps']:.2f}x direct (target 0.5), "
      f"{ka/med[('mitmproxy','keepalive')]['rps']:.1f}x mitmproxy (target 25)")
print(f"creditgate new connection per call: {med[('creditgate','new-conn')]['rps']/med[('direct','new-conn')]['rps']:.2f}x direct (target 0.8)")
# With all three processes CPU-bound on the box, req/s follow CPU per call; the CPU figures move
# less between rounds than req/s do, so their ratio is printed too.
d, c = med[("direct", "new-conn")], med[("creditgate", "new-conn")]
cpu_direct = d["cpu_client_ms"] + d["cpu_origin_ms"]
cpu_through = c["cpu_client_ms"] + c["cpu_proxy_ms"] + c["cpu_origin_ms"]
print(f"  by CPU per call: direct {cpu_direct:.3f} ms, through creditgate {cpu_through:.3f} ms: {cpu_direct/cpu_through:.2f}x")
PY
