#!/usr/bin/env bash
# Two structural rules, checked on every native build:
#  1. libweft.so exports only the public API: no weft__ (internal) or weft_plat_
#     (platform layer) symbol, and every weft_ function the header declares.
#  2. Layers include downward only: no core/ file includes a memory/, native/ or mpi/
#     header (nor MPI's own), and no platform/ file includes one from core/ or above.
#   bash tests/c/check_layers.sh SOURCE_DIR [LIBWEFT_SO]
set -euo pipefail
src=$1
so=${2:-}
fail=0
if [ -n "$so" ]; then
  exported=$(nm -D --defined-only "$so" | awk '{print $3}')
  leaked=$(printf '%s\n' "$exported" | grep -E '^(weft__|weft_plat_)' || true)
  if [ -n "$leaked" ]; then
    echo "FAIL: libweft.so exports internal symbols:"; printf '  %s\n' $leaked; fail=1
  fi
  declared=$(grep -ohE 'WEFT_API [^(]*\bweft_[a-z0-9_]+\(' "$src"/core/include/weft*.h | grep -oE 'weft_[a-z0-9_]+\($' | tr -d '(')
  for f in $declared; do
    grep -qx "$f" <<<"$exported" || { echo "FAIL: $f is declared in weft.h but not exported"; fail=1; }
  done
  echo "exports: $(printf '%s\n' "$exported" | grep -c '^weft_') weft_ symbols, none internal"
fi
up=$(grep -lE '#include "(\.\./)*(memory|native|wasm|mpi)/|#include "(memory_internal|store|native|mpi_internal|weft_mpi)\.h"|#include <mpi\.h>' "$src"/core/*.c "$src"/core/*.h || true)
if [ -n "$up" ]; then echo "FAIL: core/ includes a layer above it: $up"; fail=1; fi
up=$(grep -lE '#include "(\.\./)*(core|memory|native)/|#include "(internal|backend)\.h"' "$src"/platform/*.c "$src"/platform/*.h || true)
if [ -n "$up" ]; then echo "FAIL: platform/ includes a layer above it: $up"; fail=1; fi
[ $fail = 0 ] && echo "1 passed, 0 failed"
[ $fail = 0 ] || echo "0 passed, 1 failed"
exit $fail
