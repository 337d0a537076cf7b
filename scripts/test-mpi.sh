#!/usr/bin/env bash
# The mpi backend's suites (about a minute): the conformance checks, a program that calls
# MPI itself, a rank killed mid-map and the rerun, `weft info` under mpirun (all through
# ctest, `mpirun -np 3`), then a real one-node Slurm: srun -n 3 and sbatch with mpirun.
# Needs Open MPI, slurm-wlm and munge: scripts/setup.sh all.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
command -v mpirun >/dev/null || { echo "test-mpi: no mpirun (run scripts/setup.sh all)"; exit 1; }
cmake --preset release >/dev/null
grep -q '^WEFT_HAVE_MPI:INTERNAL=ON' build/release/CMakeCache.txt ||
  { echo "test-mpi: CMake found no MPI (libopenmpi-dev: scripts/setup.sh all)"; exit 1; }
cmake --build --preset release -j "$JOBS" --target test_mpi weft
ctest --preset release -R 'mpi' --output-on-failure
bash tests/mpi/slurm.sh build/release/tests/mpi/test_mpi
echo "test-mpi: every suite passed"
