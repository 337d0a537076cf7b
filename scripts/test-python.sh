#!/usr/bin/env bash
# The Python package's check: build libweft.so and the test task library (release
# preset), build the weft-parallel wheel (python/build_wheel.py), install it into a
# temporary folder outside the repository, and run tests/python with pytest from outside
# the repository:
#   1. Debian's /usr/bin/python3 with python3-numpy and python3-pytest: every test;
#   2. the first other python3 on PATH when it has no numpy: the same suite, whose numpy
#      tests then skip (a user's own interpreter, numpy optional), with Debian's pure-Python
#      pytest lent to it. Skipped, and said so, where there is no such interpreter.
# Needs (apt): python3-numpy python3-pytest python3-pip -- scripts/setup.sh all installs them.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=$root/build/release
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
py=/usr/bin/python3

cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target weft_shared weft_examples weft_pytasks \
  memory_reader weft

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
wheel=$($py python/build_wheel.py "$work/dist")
echo "test-python: built $(basename "$wheel")"
if $py -m pip --version >/dev/null 2>&1; then
  PIP_ROOT_USER_ACTION=ignore $py -m pip install -q --no-index --no-deps \
    --disable-pip-version-check --target "$work/site" "$wheel"
else
  mkdir -p "$work/site" && $py -m zipfile -e "$wheel" "$work/site"
fi

export WEFT_LIBRARY=$build WEFT_TEST_BUILD=$build PYTHONPATH=$work/site
pytest_args=(-q -p no:cacheprovider -p no:faulthandler "$root/tests/python")
cd "$work"
# the installed copy, not the source tree, is what the tests import
$py -c "import weft, sys; sys.exit(not weft.__file__.startswith('$work/site/'))"

echo "test-python: $py (numpy $($py -c 'import numpy; print(numpy.__version__)'))"
$py -m pytest "${pytest_args[@]}"

other=""
IFS=: read -ra path_dirs <<<"$PATH"
for d in "${path_dirs[@]}"; do
  if [ -x "$d/python3" ] && [ "$(readlink -f "$d/python3")" != "$(readlink -f $py)" ]; then
    other=$d/python3
    break
  fi
done
if [ -z "$other" ] || "$other" -c "import numpy" >/dev/null 2>&1; then
  echo "test-python: skip the numpy-free run: no other python3 without numpy on PATH"
  exit 0
fi
# lend it Debian's pytest: pure Python, nothing else from dist-packages
mkdir -p "$work/pytest"
for m in _pytest pytest pluggy iniconfig packaging attr attrs py.py; do
  [ -e "/usr/lib/python3/dist-packages/$m" ] && ln -s "/usr/lib/python3/dist-packages/$m" "$work/pytest/$m"
done
echo "test-python: $other ($("$other" --version 2>&1), without numpy)"
PYTHONPATH=$work/site:$work/pytest "$other" -m pytest "${pytest_args[@]}"
