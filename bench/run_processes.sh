#!/usr/bin/env bash
# weft's processes backend against joblib's loky, and weft threads against weft processes,
# on the same machine in the same run; prints one table.
#   bench/run_processes.sh [n_jobs]      (default: every CPU)
# Needs python3-joblib and python3-numpy (scripts/setup.sh all installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
n_jobs="${1:-$(nproc)}"
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
  -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_processes -j "$(nproc)" >/dev/null
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$build/bench/bench_processes" "$n_jobs" >>"$out"
/usr/bin/python3 bench/loky_peer.py "$n_jobs" >>"$out"
# a whole program: exec, the fork server, the workers, one map, exit
/usr/bin/python3 - "$build/bench/bench_processes" "$n_jobs" >>"$out" <<'PY'
import subprocess, sys, time
best = min((lambda t: (subprocess.run([sys.argv[1], "--cold", sys.argv[2]], check=True),
                       time.perf_counter() - t)[1])(time.perf_counter()) for _ in range(5))
print(f"cold start incl. program start\tprocesses\t{best * 1e3:.4g}\tms")
PY
echo "weft processes vs joblib loky, n_jobs=$n_jobs, $(nproc) CPUs, $(uname -m)"
/usr/bin/python3 bench/table.py "$out" 44 loky/processes loky=loky "processes=weft processes" "threads=weft threads" "socket=socket ping-pong" "shm=shm ping-pong"
