#!/usr/bin/env bash
# Trace a nested map on one backend, then check the file.
#   trace_test.sh TEST_TRACE BACKEND TRACE.json [check_trace.py flags...]
set -euo pipefail
prog=$1 backend=$2 out=$3
shift 3
"$prog" "$backend" "$out"
/usr/bin/python3 "$(dirname "$0")/check_trace.py" "$out" "$@"
