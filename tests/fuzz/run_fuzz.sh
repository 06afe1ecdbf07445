#!/bin/sh
# Builds and runs the fuzz targets (tests/fuzz/CMakeLists.txt, clang + libFuzzer).
#   run_fuzz.sh build BUILD_DIR                 configure and build every target with clang++
#   run_fuzz.sh run BUILD_DIR TARGET SECONDS    fuzz one target from its committed seeds
# A run keeps what it learns in BUILD_DIR/corpus/TARGET (never in the repo) and fails on the first
# crash, leaving the input as BUILD_DIR/TARGET-crash-*: turn it into a unit test, then fix it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
mode=$1
out=$2
case "$mode" in
  build)
    cmake -S "$here" -B "$out" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$out" -j "$(nproc 2>/dev/null || echo 2)"
    ;;
  run)
    target=$3
    seconds=$4
    mkdir -p "$out/corpus/$target"
    # -use_value_profile helps it through the comparisons of decimal and header parsing.
    exec "$out/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -use_value_profile=1 \
      -print_final_stats=1 -artifact_prefix="$out/$target-" "$out/corpus/$target" "$here/corpus/$target"
    ;;
  *)
    echo "usage: $0 build|run BUILD_DIR [TARGET SECONDS]" >&2
    exit 2
    ;;
esac
