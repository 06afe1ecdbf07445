#!/bin/bash
# The usage page at scale (issue 19): a ledger of ROWS finished calls over DAYS days (default 10
# million over 90), then the timings of what the page asks on a full load, through the real admin
# listener: GET /api/v1/usage?group_by=day for the whole range, and the page's every request
# (its three files and its seven API reads, six at a time as a browser would). Also the retention
# pass over the same ledger: `creditgate prune` deleting a third of the rows while the proxy serves.
#   bench/usage.sh [BINARY] [ROWS] [DAYS]
set -euo pipefail
BENCH_NAME=usage
here=$(cd "$(dirname "$0")" && pwd)
source "$here/common.sh"
bin=$(realpath "${1:-build/creditgate}")
rows=${2:-10000000}
days=${3:-90}
rounds=20

cat > "$work/cg.json" <<JSON
{ "listen": "127.0.0.1:0", "admin": { "listen": "127.0.0.1:0", "token": "bench" },
  "state_dir": "$work/var", "threads": 2, "storage": { "kind": "sqlite", "retention_days": 0 },
  "vendors_dir": "$here/../config/vendors", "vendors": ["scraperapi", "crustdata", "helius", "neuji", "multicart"],
  "clients": [ { "id": "client-00", "team": "growth", "secret": "s" } ],
  "budgets": [ { "id": "sa-month", "vendor": "scraperapi", "limit": 100000000000, "period": "month" },
               { "id": "growth-usd", "scope": { "team": "growth" }, "vendor": "scraperapi", "unit": "usd", "limit": "1000000", "period": "month" },
               { "id": "crust-life", "vendor": "crustdata", "limit": 100000000000 } ] }
JSON
start_creditgate "$bin" "$work/cg.json"
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; pids=()
echo "generating $rows rows over $days days..."
$py "$here/gen_ledger.py" "$work/var/creditgate.db" --rows "$rows" --days "$days"
echo "ledger: $(du -h "$work/var/creditgate.db" | cut -f1)"

t1=$(date +%s%N)
start_creditgate "$bin" "$work/cg.json"
admin=$(sed -n 's/.*admin=\(127.0.0.1:[0-9]*\).*/\1/p' "$work/creditgate.out")
printf 'start with %s rows (every budget recomputed from the ledger): %.2f s\n' "$rows" "$(( $(date +%s%N) - t1 ))e-9"
to=$(date -u +%F); from=$(date -u -d "$to - $((days - 1)) days" +%F)
prev_to=$(date -u -d "$from - 1 day" +%F); prev_from=$(date -u -d "$prev_to - $((days - 1)) days" +%F)
auth=(-H "Authorization: Bearer bench")

# median_ms LABEL CMD...: runs CMD $rounds times and prints the median wall time.
median_ms() {
  local label=$1; shift
  local times=()
  for _ in $(seq $rounds); do
    local s e; s=$(date +%s%N); "$@" > /dev/null; e=$(date +%s%N)
    times+=($(( (e - s) / 1000 )))
  done
  printf '%-58s median %6.1f ms  max %6.1f ms\n' "$label" \
    "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]/1000}')" \
    "$(printf '%s\n' "${times[@]}" | sort -n | tail -1 | awk '{print $1/1000}')"
}
curl -sf "${auth[@]}" "http://$admin/api/v1/usage?from=$from&to=$to&group_by=day" | $py -c 'import json,sys; d=json.load(sys.stdin); print("day rows:", len(d["rows"]), " requests:", sum(r["requests"] for r in d["rows"]))'
median_ms "GET /healthz (what one curl costs, for scale)" curl -sf "http://$admin/healthz"
median_ms "GET /api/v1/usage?group_by=day ($days days)" curl -sf "${auth[@]}" "http://$admin/api/v1/usage?from=$from&to=$to&group_by=day"
median_ms "GET /api/v1/usage?group_by=day,client,vendor ($days days)" curl -sf "${auth[@]}" "http://$admin/api/v1/usage?from=$from&to=$to&group_by=day,client,vendor"

# The page's full load: files, then the reads it makes at login and for the default view.
page_load() {
  printf '%s\n' / /page.css /page.js | xargs -P 3 -I{} curl -sf -o /dev/null "http://$admin{}"
  printf '%s\n' "/api/v1/token" "/api/v1/usage?from=$from&to=$to&group_by=team,client,vendor" "/api/v1/budgets" |
    xargs -P 3 -I{} curl -sf -o /dev/null "${auth[@]}" "http://$admin{}"
  printf '%s\n' "/api/v1/usage?from=$from&to=$to&group_by=day" "/api/v1/usage?from=$from&to=$to&group_by=vendor" \
    "/api/v1/usage?from=$prev_from&to=$prev_to&group_by=" "/api/v1/budgets" "/api/v1/accounts" "/api/v1/reservations" |
    xargs -P 6 -I{} curl -sf -o /dev/null "${auth[@]}" "http://$admin{}"
}
median_ms "the page's full load ($days days: 3 files + 9 API reads)" page_load

# Retention while serving: a third of the days go.
cut_day=$(date -u -d "$from + $((days / 3)) days" +%F)
t2=$(date +%s%N)
"$bin" prune --config "$work/cg.json" --before "$cut_day"
printf 'prune before %s while serving: %.1f s\n' "$cut_day" "$(( $(date +%s%N) - t2 ))e-9"
median_ms "GET /api/v1/usage?group_by=day after the prune" curl -sf "${auth[@]}" "http://$admin/api/v1/usage?from=$from&to=$to&group_by=day"
