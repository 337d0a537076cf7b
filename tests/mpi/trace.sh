#!/usr/bin/env bash
# The trace of an mpi map under a real launcher:
#   trace.sh MPIEXEC TEST_MPI CHECK_TRACE.PY OUT_DIR [check_trace.py flags...]
# Every rank's batches must be in rank 0's file, on a track per rank named with rank and
# host, on rank 0's clock: through WEFT_TRACE (written at exit) and through
# weft_trace_start/stop twice in one run.
set -euo pipefail
mpiexec=$1 prog=$2 check=$3 out=$4
shift 4
mkdir -p "$out"
rm -f "$out"/mpi_trace*.json*
# the ranks' parts go to $TMPDIR: a folder of this run's own, so a run beside it
# (ctest -j) cannot be taken for a part left behind
export TMPDIR=$(mktemp -d)
trap 'rm -rf "$TMPDIR"' EXIT
WEFT_TRACE="$out/mpi_trace_env.json" timeout 100 "$mpiexec" -np 3 "$prog" trace
/usr/bin/python3 "$check" "$out/mpi_trace_env.json" --mpi 3 --nested 1 "$@"
timeout 100 "$mpiexec" -np 3 "$prog" trace "$out/mpi_trace_api.json"
/usr/bin/python3 "$check" "$out/mpi_trace_api.json.first" --mpi 3 "$@"
/usr/bin/python3 "$check" "$out/mpi_trace_api.json" --mpi 3 --nested 1 "$@"
# no part file is left behind, here or in the ranks' temporary folder
if ls "$out" | grep -q part; then echo "FAIL: part files left in $out"; exit 1; fi
if ls "$TMPDIR" | grep -q "^weft-trace-rank"; then echo "FAIL: a rank's part left in $TMPDIR"; exit 1; fi
echo "mpi trace ok"
