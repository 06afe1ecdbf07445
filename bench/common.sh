# Sourced by run.sh and run_tls.sh: a scratch folder cleaned up at exit, free ports, waiting for
# servers, and starting creditgate with a config and reading its listening line.
py=/usr/bin/python3
work=$(mktemp -d "/tmp/creditgate-${BENCH_NAME:-bench}.XXXXXX")
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

free_port() { $py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; return 1; }

# start_creditgate BINARY CONFIG [NAME]: sets cg_port.
start_creditgate() {
  local name=${3:-creditgate}
  "$1" serve --config "$2" > "$work/$name.out" 2>"$work/$name.err" &
  pids+=($!)
  for _ in $(seq 100); do grep -q listening "$work/$name.out" 2>/dev/null && break; sleep 0.05; done
  cg_port=$(sed -n 's/.*proxy=127.0.0.1:\([0-9]*\).*/\1/p' "$work/$name.out")
  [ -n "$cg_port" ] || { echo "creditgate did not start" >&2; cat "$work/$name.err" >&2; exit 1; }
}

# start_nginx CONF_BODY [NAME]: runs nginx with one worker, no access log, the given http-level
# blocks, in $work/NAME (default nginx).
start_nginx() {
  local dir="$work/${2:-nginx}"
  mkdir -p "$dir"
  cat > "$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  client_body_temp_path $dir/body; proxy_temp_path $dir/proxy; fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi; scgi_temp_path $dir/scgi;
  $1
}
CONF
  nginx -c "$dir/nginx.conf" -p "$dir" &
  pids+=($!)
}

# serve_1k_file [LISTEN_OPTIONS] [DIRECTIVES]: the origin of every run, nginx serving a random
# 1 KiB file from $work/www at 127.0.0.1:$nginx_port (a free port), started and waited for.
serve_1k_file() {
  nginx_port=$(free_port)
  mkdir -p "$work/www"
  head -c 1024 /dev/urandom > "$work/www/1k.bin"
  start_nginx "server { listen 127.0.0.1:$nginx_port${1:+ $1}; root $work/www; ${2:-} }"
  wait_port "$nginx_port"
}

# bench_config KIND [NAME] [UPSTREAM_TLS] [MEMBERS]: a creditgate config for the benchmarks, with
# `storage.kind` KIND, its state in $work/var-NAME and its log in $work/creditgate-NAME.log (NAME
# defaults to KIND). bench.local at $nginx_port is a vendor (a `use` override, `upstream_tls`
# UPSTREAM_TLS, default never), the access log is on, and metering is on: every call is estimated,
# frozen against a credits budget and settled. MEMBERS are more top-level members ("tls": {...},).
# BENCH_SECRET_FIELD replaces the client's `"secret": "bench-secret"` (e.g. with a secret_hash).
bench_config() {
  local name=${2:-$1} upstream_tls=${3:-never} members=${4:-}
  local secret=${BENCH_SECRET_FIELD:-'"secret": "bench-secret"'}
  cat <<CONF
{
  "listen": "127.0.0.1:0",
  "admin": { "listen": "127.0.0.1:0", "token": "bench" },
  "state_dir": "$work/var-$name",
  "threads": ${CREDITGATE_THREADS:-1},
  "storage": { "kind": "$1" },
  "log": { "level": "info", "file": "$work/creditgate-$name.log" },
  $members
  "vendors_dir": "$here/../config/vendors",
  "vendors": [ { "use": "scraperapi", "hosts": ["bench.local"], "upstream_tls": "$upstream_tls" } ],
  "resolve": { "bench.local:$nginx_port": "127.0.0.1:$nginx_port" },
  "clients": [ { "id": "bench", "team": "bench", $secret } ],
  "budgets": [ { "id": "bench-credits", "scope": { "team": "bench" }, "vendor": "scraperapi",
                 "limit": 1000000000, "period": "month" } ]
}
CONF
}

# serve_1k_tls [PROTOCOLS]: serve_1k_file over TLS with the bench PKI (made here), session cache on.
serve_1k_tls() {
  make_bench_pki
  serve_1k_file ssl "ssl_certificate $work/pki/server.pem; ssl_certificate_key $work/pki/server.key;
  ssl_session_cache shared:SSL:10m; ssl_protocols ${1:-TLSv1.2 TLSv1.3};"
}

# make_bench_pki: a bench CA and an ECDSA P-256 certificate for nginx (bench.local and 127.0.0.1)
# in $work/pki: ca.pem, server.pem, server.key.
make_bench_pki() {
  mkdir -p "$work/pki"
  ( cd "$work/pki"
    openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
    openssl req -x509 -new -key ca.key -sha256 -days 2 -subj /CN=bench-ca -out ca.pem 2>/dev/null
    openssl ecparam -name prime256v1 -genkey -noout -out server.key 2>/dev/null
    openssl req -new -key server.key -subj /CN=bench.local -out server.csr 2>/dev/null
    printf 'subjectAltName=DNS:bench.local,IP:127.0.0.1\n' > ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -sha256 -extfile ext -out server.pem 2>/dev/null )
}
