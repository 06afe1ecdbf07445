#!/bin/sh
# Installs the Debian packages creditgate needs for one purpose: build, test or bench.
# A no-op when everything is present; runs `apt-get update` only when something is missing.
set -eu

build="g++ cmake make pkg-config ccache libboost1.81-dev libssl-dev nlohmann-json3-dev
       libspdlog-dev libsqlite3-dev libpq-dev zlib1g-dev libgoogle-perftools-dev"
test="$build catch2 python3 python3-requests python3-httpx python3-aiohttp python3-scrapy python3-prometheus-client curl openssl
      ca-certificates procps nodejs npm clang libclang-rt-14-dev postgresql-15
      chromium chromium-driver python3-selenium prometheus systemd"
demo="$build python3 curl openssl ca-certificates"
bench="$build wrk nginx-light squid hey mitmproxy curl openssl procps python3 linux-perf postgresql-15"

case "${1:-build}" in
  build) wanted=$build ;;
  demo)  wanted=$demo ;;
  test)  wanted=$test ;;
  bench) wanted=$bench ;;
  *) echo "usage: $0 build|demo|test|bench" >&2; exit 2 ;;
esac

missing=""
for pkg in $wanted; do
  # A Node.js that came from elsewhere (NodeSource ships npm inside nodejs) is fine as it is.
  case "$pkg" in
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
  esac
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
