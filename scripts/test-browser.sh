#!/usr/bin/env bash
# The browser check: build what the pages need (emscripten preset: example_tasks for
# tests/browser/pool.test.mjs and memory.test.mjs, web_tasks for the demo page,
# weft_test_tasks for nested.test.mjs; natively
# the weft tool and weft_map_file for the cache interop checks), then drive headless chromium
# with playwright-core (node --test tests/browser/). Screenshots: build/browser-artifacts/.
# Needs scripts/setup.sh all (emscripten, chromium, tests/browser/node_modules).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  echo "test-browser: playwright-core is missing: run scripts/setup.sh all" >&2
  exit 1
fi
# emcc's optimiser (any -O1 and up link) needs acorn, which Debian keeps here.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
mkdir -p build
log=build/test-browser-configure.log
if ! cmake --preset emscripten >"$log" 2>&1; then
  cat "$log" >&2
  echo "test-browser: configuring the emscripten preset failed" >&2
  exit 1
fi
jobs=$(nproc 2>/dev/null || echo 2)
cmake --build --preset emscripten -j "$jobs" --target example_tasks --target web_tasks --target pyodide_tasks \
  --target weft_test_tasks
# tests/browser/memory.test.mjs makes and reads native caches: the weft tool, weft_map_file
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target weft --target weft_map_file
# tests/browser/pyodide.test.mjs: the page installs the weft-parallel wheel from python/dist
# (pyodide itself comes from tests/pyodide/node_modules, which scripts/setup.sh all installs)
/usr/bin/python3 python/build_wheel.py >/dev/null
echo "test-browser: node --test tests/browser/"
node --test tests/browser/
echo "test-browser: passed in ${SECONDS} s (screenshots in build/browser-artifacts/)"
