#!/usr/bin/env bash
# Threads, processes or mpi? Speed-up curves over n_jobs for a CPU-bound, an I/O and a
# big-input task (bench/backends_scaling.c): threads and processes at n_jobs 1..CPUs in
# one run, then the mpi backend under `mpirun -np K` for each K (one point per run, each
# against its own sequential run), when Open MPI is built in.
#   bench/run_scaling.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON --log-level=WARNING >/dev/null
cmake --build "$build" -j "$(nproc)" --target bench_backends_scaling >/dev/null
"$build/bench/bench_backends_scaling" "$@"
if ! cmake --build "$build" -j "$(nproc)" --target bench_backends_scaling_mpi >/dev/null 2>&1; then
  echo "mpi: not built (no Open MPI found by CMake; scripts/setup.sh all installs it): no mpi line"
  exit 0
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
cpus=$("$build/bench/bench_backends_scaling" --print-cpus)
# the n_jobs points of the threads and processes curves: 1..16, then doubling, then the CPUs
points=() k=1
while [ "$k" -le "$cpus" ]; do
  points+=("$k")
  if [ "$k" -lt 16 ]; then k=$((k + 1)); else k=$((k * 2)); fi
done
[ "${points[-1]}" = "$cpus" ] || points+=("$cpus")
for k in "${points[@]}"; do
  # --bind-to none: the ranks share the machine the way threads and processes workers do
  mpirun --bind-to none -np "$k" "$build/bench/bench_backends_scaling_mpi" --cpus "$cpus" "$@"
done
