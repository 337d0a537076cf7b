#!/usr/bin/env bash
# Trace a nested map on one backend, then check the file.
#   trace_test.sh TEST_TRACE BACKEND TRACE.json [check_trace.py flags...]
set -euo pipefail
prog=$1 backend=$2 out=$3
shift 3
"$prog" "$backend" "$out"
/usr/bin/python3 "$(dirname "$0")/check_trace.py" "$out" "$@"
# the same through WEFT_TRACE, written at exit
rm -f "$out.env.json"
WEFT_TRACE="$out.env.json" "$prog" "$backend" -
/usr/bin/python3 "$(dirname "$0")/check_trace.py" "$out.env.json" "$@"
# `weft trace summary` on the same file, and on files that are no trace
if [ -n "${WEFT_TOOL:-}" ]; then
  summary=$("$WEFT_TOOL" trace summary "$out")
  printf '%s\n' "$summary"
  for want in "busy per worker" "critical path" "map top" "map middle" "map leaf" "longest tasks"; do
    grep -q "$want" <<<"$summary" || { echo "FAIL: summary lacks '$want'"; exit 1; }
  done
  bad=$(mktemp)
  printf '{"traceEvents": [{"ph": "X",' >"$bad"
  if msg=$("$WEFT_TOOL" trace summary "$bad" 2>&1); then echo "FAIL: a cut trace was accepted"; exit 1; fi
  grep -q "is not JSON" <<<"$msg" || { echo "FAIL: unclear message: $msg"; exit 1; }
  printf '{"a": 1}' >"$bad"
  if msg=$("$WEFT_TOOL" trace summary "$bad" 2>&1); then echo "FAIL: a non-trace was accepted"; exit 1; fi
  grep -q "no traceEvents" <<<"$msg" || { echo "FAIL: unclear message: $msg"; exit 1; }
  if msg=$("$WEFT_TOOL" trace summary "$bad.missing" 2>&1); then echo "FAIL: a missing file was accepted"; exit 1; fi
  grep -q "cannot open" <<<"$msg" || { echo "FAIL: unclear message: $msg"; exit 1; }
  rm -f "$bad"
  echo "summary ok"
fi
