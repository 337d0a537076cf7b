#!/usr/bin/env bash
# weft's mpi backend against mpi4py's MPIPoolExecutor (and weft's processes backend), all
# under `mpirun -np 3` on this machine in the same run; prints one table.
#   bench/run_mpi.sh [--quick]
# Needs Open MPI and python3-mpi4py under /usr/bin/python3 (scripts/setup.sh all).
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWEFT_BUILD_BENCH=ON \
  -DWEFT_BUILD_TESTS=OFF -DWEFT_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$build" --target bench_mpi -j "$(nproc)" >/dev/null
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
out=$(mktemp)
trap 'rm -f "$out"' EXIT
mpirun -np 3 "$build/bench/bench_mpi" "$@" >>"$out"
for part in tasks shared; do
  mpirun -np 3 /usr/bin/python3 -m mpi4py.futures bench/mpi4py_peer.py "$part" "$@" >>"$out"
done
echo "weft mpi vs mpi4py MPIPoolExecutor, mpirun -np 3 (rank 0 schedules, 2 ranks compute), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(bare MPI: a 16-byte MPI_Send/MPI_Recv ping-pong between ranks 0 and 1 of the same mpirun, the floor under any round trip)"
/usr/bin/python3 bench/table.py "$out" 38 mpi4py/mpi mpi4py=mpi4py "mpi=weft mpi" "processes=weft processes" \
  "pingpong=bare MPI"
