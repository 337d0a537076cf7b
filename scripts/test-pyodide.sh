#!/usr/bin/env bash
# weft's Python package under Pyodide (npm `pyodide`, pinned in tests/pyodide): build the
# wasm modules (emscripten preset: pyodide_tasks = tests/python/tasks.c, web_tasks for the
# page) and the weft-parallel wheel (python/build_wheel.py, into python/dist where the
# page fetches it), then
#   1. node tests/pyodide/run-tests.mjs: the Python suite's portable part
#      (tests/python/test_portable.py) and the Pyodide-only checks, in Node;
#   2. node --test tests/browser/pyodide.test.mjs: the Pyodide page (web/pyodide.html) in
#      headless chromium, compared with the native library (build/release), and the
#      portable suite with the blocking forms through JSPI
#      (tests/browser/pages/pyodide-suite.html);
#   3. node bench/pyodide_map.mjs --quick: the bench runs and its sides agree bit for bit.
# Needs scripts/setup.sh all (emscripten, chromium, tests/pyodide and tests/browser node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
for m in tests/pyodide/node_modules/pyodide tests/browser/node_modules/playwright-core; do
  if [ ! -f "$m/package.json" ]; then
    echo "test-pyodide: $m is missing: run scripts/setup.sh all" >&2
    exit 1
  fi
done
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"  # emcc's optimiser needs acorn
mkdir -p build
log=build/test-pyodide-configure.log
if ! cmake --preset emscripten >"$log" 2>&1; then
  cat "$log" >&2
  echo "test-pyodide: configuring the emscripten preset failed" >&2
  exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build --preset emscripten -j "$jobs" --target pyodide_tasks --target web_tasks
# the page's results are compared with the native library's (the Python package on CPython);
# the weft tool reads the cache folder Python wrote through Node
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target weft_shared --target weft_examples --target weft
wheel=$(/usr/bin/python3 python/build_wheel.py)
echo "test-pyodide: node tests/pyodide/run-tests.mjs $(basename "$wheel")"
node tests/pyodide/run-tests.mjs "$wheel"
echo "test-pyodide: node --test tests/browser/pyodide.test.mjs"
node --test tests/browser/pyodide.test.mjs
echo "test-pyodide: node bench/pyodide_map.mjs --quick (a smoke test: no timing checks)"
node bench/pyodide_map.mjs --quick
echo "test-pyodide: passed in ${SECONDS} s"
