#!/usr/bin/env bash
# The library's C sources are formatted as .clang-format says (clang-format 14, Debian's
# clang-format package; scripts/setup.sh installs it). Prints the files that are not, and
# how to fix them.
#   bash tests/c/check_format.sh SOURCE_DIR
set -euo pipefail
cd "${1:?usage: check_format.sh SOURCE_DIR}"
fmt=$(command -v clang-format-14 || command -v clang-format || true)
[ -n "$fmt" ] || { echo "clang-format is not installed (apt-get install clang-format)"; echo "0 passed, 1 failed"; exit 1; }
bad=()
for f in $(git ls-files 2>/dev/null 'core/*.[ch]' 'memory/*.[ch]' 'native/*.[ch]' 'native/cli/*.[ch]' \
             'platform/*.[ch]' 'mpi/*.[ch]' 'wasm/src/*.[ch]' 'wasm/include/*.h' || true); do
  "$fmt" --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if [ ${#bad[@]} -gt 0 ]; then
  echo "not formatted (run: $fmt -i FILE):"; printf '  %s\n' "${bad[@]}"
  echo "0 passed, 1 failed"; exit 1
fi
echo "1 passed, 0 failed"
