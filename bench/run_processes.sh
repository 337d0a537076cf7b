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
/usr/bin/python3 - "$out" <<'PY'
import sys
rows, order = {}, []
for line in open(sys.argv[1]):
    name, who, value, unit = line.rstrip("\n").split("\t")
    if name not in rows:
        rows[name] = {"unit": unit}
        order.append(name)
    rows[name][who] = float(value)
def cell(r, who):
    return f"{r[who]:.4g} {r['unit']}" if who in r else "-"
print(f"| {'row':44} | {'loky':>12} | {'weft processes':>14} | {'weft threads':>12} | {'loky / processes':>16} |")
print(f"|{'-' * 46}|{'-' * 14}|{'-' * 16}|{'-' * 14}|{'-' * 18}|")
for name in order:
    r = rows[name]
    ratio = f"{r['loky'] / r['processes']:.1f}x" if "loky" in r and "processes" in r else "-"
    print(f"| {name:44} | {cell(r, 'loky'):>12} | {cell(r, 'processes'):>14} | {cell(r, 'threads'):>12} | {ratio:>16} |")
PY
