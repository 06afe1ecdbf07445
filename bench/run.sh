#!/usr/bin/env bash
# Loopback benchmark, all in one run: nginx serving 1 KiB directly, through creditgate, and
# through squid as a peer proxy; wrk -t1 -c32, alternating rounds, median of the rounds.
# Usage: bench/run.sh [path/to/creditgate] [rounds] [seconds]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
binary=$(realpath "${1:-$here/../build/creditgate}")
rounds=${2:-3}
duration=${3:-10}
connections=${CONNECTIONS:-32}
py=/usr/bin/python3

work=$(mktemp -d /tmp/creditgate-bench.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

# --- nginx: one worker, a 1 KiB file, no access log (it is the baseline) ---
nginx_port=$(free_port)
mkdir -p "$work/www" "$work/nginx"
head -c 1024 /dev/urandom > "$work/www/1k.bin"
cat > "$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  server { listen 127.0.0.1:$nginx_port; root $work/www; }
}
CONF
nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)
wait_port "$nginx_port"

# --- creditgate: the bench host is a vendor (a `use` override, plain upstream), access log on ---
cat > "$work/creditgate.json" <<CONF
{
  "listen": "127.0.0.1:0",
  "admin": { "listen": "127.0.0.1:0", "token": "bench" },
  "state_dir": "$work/var",
  "threads": ${CREDITGATE_THREADS:-1},
  "storage": { "kind": "memory" },
  "log": { "level": "info", "file": "$work/creditgate.log" },
  "vendors_dir": "$here/../config/vendors",
  "vendors": [ { "use": "scraperapi", "hosts": ["bench.local"], "upstream_tls": "never" } ],
  "resolve": { "bench.local:$nginx_port": "127.0.0.1:$nginx_port" },
  "clients": [ { "id": "bench", "team": "bench", "secret": "bench-secret" } ],
  // Metering on: every call is estimated, frozen against this budget, and settled.
  "budgets": [ { "id": "bench-credits", "scope": { "team": "bench" }, "vendor": "scraperapi",
                 "limit": 1000000000, "period": "month" } ]
}
CONF
"$binary" serve --config "$work/creditgate.json" > "$work/creditgate.out" 2>"$work/creditgate.err" &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/creditgate.out" 2>/dev/null && break; sleep 0.05; done
cg_port=$(sed -n 's/.*proxy=127.0.0.1:\([0-9]*\).*/\1/p' "$work/creditgate.out")
[ -n "$cg_port" ] || { echo "creditgate did not start" >&2; cat "$work/creditgate.err" >&2; exit 1; }

# --- squid: the peer proxy, no cache, access log on like creditgate ---
squid_port=$(free_port)
mkdir -p "$work/squid"
echo "127.0.0.1 bench.local" > "$work/squid/hosts"
chmod 777 "$work/squid"
cat > "$work/squid/squid.conf" <<CONF
http_port 127.0.0.1:$squid_port
http_access allow all
cache deny all
cache_mem 8 MB
hosts_file $work/squid/hosts
access_log stdio:$work/squid/access.log
cache_log $work/squid/cache.log
pid_filename $work/squid/squid.pid
coredump_dir $work/squid
shutdown_lifetime 1 seconds
workers 1
CONF
squid -N -f "$work/squid/squid.conf" &
pids+=($!)
wait_port "$squid_port"

url_path="http://bench.local:$nginx_port/1k.bin"
auth="Basic $(printf 'bench:bench-secret' | base64)"
run() {  # name host port target auth
  TARGET="$4" PROXY_AUTH="$5" wrk -t1 -c"$connections" -d"${duration}s" --latency -s "$here/wrk_proxy.lua" \
    "http://127.0.0.1:$3/1k.bin" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
# Warm-up: pools, caches, page faults.
run warm 127.0.0.1 "$cg_port" "$url_path" "$auth" >/dev/null || true
run warm 127.0.0.1 "$squid_port" "$url_path" "" >/dev/null || true

results="$work/results.txt"
for r in $(seq "$rounds"); do
  run direct 127.0.0.1 "$nginx_port" "/1k.bin" "" | tee -a "$results"
  run creditgate 127.0.0.1 "$cg_port" "$url_path" "$auth" | tee -a "$results"
  run squid 127.0.0.1 "$squid_port" "$url_path" "" | tee -a "$results"
done

# Sanity: the proxied runs really went through the proxies to nginx.
grep -q "status=200" "$work/creditgate.log" || { echo "creditgate served nothing" >&2; exit 1; }

$py - "$results" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    name, *fields = line.split()
    runs.setdefault(name, []).append({k: float(v) for k, v in (f.split("=") for f in fields)})
med = {n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for n, rs in runs.items()}
d = med["direct"]
print(f"\n{'':12}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'× direct':>10}")
for n in ("direct", "creditgate", "squid"):
    m = med[n]
    print(f"{n:12}{m['rps']:>10.0f}{m['p50_us']/1000:>9.2f}{m['p99_us']/1000:>9.2f}{m['errors']:>8.0f}{m['rps']/d['rps']:>10.2f}")
cg = med["creditgate"]
p99_limit = max(2000, 2 * d["p99_us"])
ok = cg["rps"] >= 0.5 * d["rps"] and cg["p99_us"] <= p99_limit and cg["errors"] == 0
print(f"\ntarget: creditgate >= 0.5x direct req/s and p99 <= {p99_limit/1000:.2f} ms: {'met' if ok else 'NOT met'}")
print(f"creditgate / squid: {cg['rps']/med['squid']['rps']:.1f}x")
PY
