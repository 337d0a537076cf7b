#!/usr/bin/env bash
# A rank killed (SIGKILL) in the middle of a cached map, then the rerun:
#   kill_resume.sh MPIEXEC TEST_MPI
# The killed run must end (no hang: each run has a time limit) with a message naming rank
# 2; the rerun, with the same Memory folder, computes only the items the first run did not
# store, and gets every result right.
set -u
mpiexec=$1 prog=$2
export TEST_MPI_DIR=$(mktemp -d)
trap 'rm -rf "$TEST_MPI_DIR"' EXIT
out=$TEST_MPI_DIR/kill.log
TEST_MPI_KILL=1 timeout 60 "$mpiexec" -np 3 "$prog" kill >"$out" 2>&1
rc=$?
cat "$out"
if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
  echo "FAIL: the killed run ended with $rc (0: nothing failed; 124: it hung)"; exit 1
fi
if ! grep -Eq "rank 2 \(pid [0-9]+ on|process rank 2 with PID .* on node" "$out"; then
  echo "FAIL: no message naming rank 2 and its host"; exit 1
fi
ran=$(ls "$TEST_MPI_DIR/runs" | wc -l)
echo "killed run: $ran items ran before the end (rc $rc)"
rm -rf "$TEST_MPI_DIR/runs" # the rerun counts its own runs
timeout 60 "$mpiexec" -np 3 "$prog" resume || { echo "FAIL: the rerun"; exit 1; }
