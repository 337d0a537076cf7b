#!/bin/sh
# Configure a Release build with the benchmarks (-DWEFT_BUILD_BENCH=ON) into build/bench,
# build the overhead bench and run it. Arguments go to the bench:
#   bench/run.sh            the full table (about a minute)
#   bench/run.sh --quick    the smoke-test sizes (a few seconds); WEFT_BENCH_QUICK=1 too
#   bench/run.sh --strict   exit 1 when a target is not met
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build="$root/build/bench"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON --log-level=WARNING
cmake --build "$build" --target weft_bench_overhead -j "$(nproc)"
echo
exec "$build/bench/weft_bench_overhead" "$@"
