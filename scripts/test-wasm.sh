#!/usr/bin/env bash
# The WebAssembly check: build the vector runner natively (release preset), for WASI and
# for Emscripten with and without pthreads, then let Node check that all four print the
# same vectors (tests/node/vectors.test.mjs); the JavaScript API's suites
# (tests/node/{api,memory,package}.test.mjs: the task modules weft_test_tasks and
# example_tasks, checked against the native weft_map_file; the npm package, its weft-build
# and its CMake module; the JS API inside a user's Node process); an outside CMake project's
# module (tests/install/run-wasm.sh); then the portable C suites
# (tests/c) under node:wasi and under Emscripten in Node. Safe to re-run: configure and
# build are incremental.
#   scripts/test-wasm.sh          build what the suites run, in each preset
#   scripts/test-wasm.sh --all    build every target of each preset
# Needs (apt): cmake, gcc, clang-14, lld-14, llvm-14, wasi-libc, libclang-rt-14-dev-wasm32,
# emscripten (brings node-acorn), nodejs, npm -- scripts/setup.sh all installs them.
set -euo pipefail
cd "$(dirname "$0")/.."

all=0
# The portable C suites (tests/c/CMakeLists.txt), built for WASI and Emscripten.
suites="test_conformance test_errors test_registry test_config test_progress test_stream test_memory test_memory_backends
  test_memory_stress test_archive"
case "${1:-}" in
  --all) all=1 ;;
  "") ;;
  *) echo "usage: $0 [--all]" >&2; exit 2 ;;
esac
# what the Node suites need from each preset
targets_for() {
  case "$1" in
    release) echo run_vectors weft_map_file ;;
    emscripten) echo run_vectors weft_test_tasks example_tasks $suites ;;
    wasi) echo run_vectors example_tasks_cli $suites ;;
    *) echo run_vectors ;;
  esac
}

# emcc's optimiser (any -O1 and up link) needs acorn, which Debian keeps here.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
jobs=$(nproc 2>/dev/null || echo 2)

for preset in release wasi emscripten emscripten-pthreads; do
  echo "test-wasm: $preset"
  mkdir -p build
  log="build/test-wasm-configure-$preset.log"
  if ! cmake --preset "$preset" >"$log" 2>&1; then
    cat "$log" >&2
    echo "test-wasm: configuring the $preset preset failed" >&2
    exit 1
  fi
  targets=()
  if [ "$all" = 0 ]; then
    for t in $(targets_for "$preset"); do targets+=(--target "$t"); done
  fi
  cmake --build --preset "$preset" -j "$jobs" "${targets[@]}"
done

echo "test-wasm: node --test tests/node/ (builds took ${SECONDS} s)"
node --test tests/node/
# the JS API's benches, quick sizes: smoke tests (every row runs), no timing targets
echo "test-wasm: node bench/wasm_workers.mjs --quick"
node bench/wasm_workers.mjs --quick
echo "test-wasm: node bench/wasm_nested.mjs --quick"
node bench/wasm_nested.mjs --quick
# cache keys and the golden cache read back under WASI and Emscripten, as natively
echo "test-wasm: cache-key vectors under WASI and Emscripten"
bash tests/vectors/run_wasm_keys.sh
# The C suites: ctest runs each program through Node (the toolchains' emulator). WASI:
# cmake/wasi-run.mjs, with a fresh $TMPDIR preopened. Emscripten: NODERAWFS, the host's files.
# an outside CMake project makes its own module (add_subdirectory, find_package)
echo "test-wasm: tests/install under Emscripten"
bash tests/install/run-wasm.sh build/emscripten
echo "test-wasm: C suites under node:wasi"
ctest --test-dir build/wasi --output-on-failure -R '^(test_|run_vectors|example_tasks_cli)'
# Not yet under Emscripten 3.1.6: test_progress, which exits early in its stderr-capture
# (dup2) part.
echo "test-wasm: C suites under Emscripten (Node)"
ctest --test-dir build/emscripten --output-on-failure -R '^(test_|run_vectors)' -E '^test_progress$'
echo "test-wasm: passed in ${SECONDS} s"
