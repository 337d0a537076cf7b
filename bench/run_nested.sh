#!/usr/bin/env bash
# Nested maps against the flat map of the same 256 tasks, weft and joblib side by side in
# one run (docs/nested.md); prints one table.
#   bench/run_nested.sh [n_jobs]      (default: every CPU)
# Needs python3-joblib (scripts/setup.sh all installs it).
set -euo pipefail
cd "$(dirname "$0")/.."
n_jobs="${1:--1}"
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
  -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_nested -j "$(nproc)" >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/bench/bench_nested" "$n_jobs" >>"$out"
/usr/bin/python3 bench/nested_joblib.py "$n_jobs" >>"$out"
echo "nested 16 x 16 tasks of ~5 ms CPU vs the flat map of 256, n_jobs=$n_jobs, $(nproc) CPUs, $(uname -m)"
echo "load: $(uptime | sed 's/.*load average/load average/')"
/usr/bin/python3 bench/table.py "$out" 44 joblib/weft weft=weft joblib=joblib
