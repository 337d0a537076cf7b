#!/usr/bin/env bash
# Every code block of README.md and docs/ is real: build what the examples use, install
# it the way a user would, then run each fenced sh, C, JS and Python block
# (scripts/doc_blocks.py says how blocks are marked: files, skips, expected output).
#   scripts/test-docs.sh [MARKDOWN_FILE...]      default: README.md and docs/*.md
# Builds, incrementally: the release preset (installed into a temporary prefix: the
# examples' `pkg-config --cflags --libs weft` and `weft` find it), the Emscripten example
# module and the npm package (for `import ... from 'weft-parallel'`); Python blocks import
# the package from python/ and find libweft.so through pkg-config.
# Needs (apt): what scripts/setup.sh all installs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=${JOBS:-$(nproc 2>/dev/null || echo 2)}
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}" # emcc's optimiser needs acorn

files=("$@")
[ ${#files[@]} -gt 0 ] || files=(README.md docs/*.md)

mkdir -p build
log=build/test-docs-build.log
step() { # what, command...
  local what=$1; shift
  "$@" >>"$log" 2>&1 || { tail -n 40 "$log" >&2; echo "test-docs: $what failed (log: $log)" >&2; exit 1; }
}
: >"$log"
echo "test-docs: building the release preset and the npm package (log: $log)"
step "configuring release" cmake --preset release
step "building release" cmake --build --preset release -j "$jobs"
step "configuring emscripten" cmake --preset emscripten
step "building the example module" cmake --build --preset emscripten -j "$jobs" --target example_tasks weft_static

work=$(mktemp -d "${TMPDIR:-/tmp}/weft-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT
step "installing into $work/prefix" cmake --install build/release --prefix "$work/prefix"
tarball=$(bash wasm/pack.sh build/emscripten "$work/npm" 2>>"$log" | tail -n 1)
mkdir -p "$work/node_modules/weft-parallel"
tar -xzf "$tarball" -C "$work/node_modules/weft-parallel" --strip-components=1
# Pyodide (docs/pyodide.md): npm's pyodide, pinned in tests/pyodide (scripts/setup.sh all)
[ -f tests/pyodide/node_modules/pyodide/package.json ] ||
  { echo "test-docs: tests/pyodide/node_modules/pyodide is missing: bash scripts/setup.sh all" >&2; exit 1; }
ln -s "$root/tests/pyodide/node_modules/pyodide" "$work/node_modules/pyodide"
mkdir -p "$work/node_modules/.bin" # what npm install makes: npx weft-build finds it here
ln -s ../weft-parallel/bin/weft-build.mjs "$work/node_modules/.bin/weft-build"

libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:[A-Z]*=//p' build/release/CMakeCache.txt)
# A user's shell after installing weft into a prefix: the tool on PATH, pkg-config finds
# the library (Python's weft finds libweft.so through it too).
# python3 is Debian's (numpy), whatever else is on PATH
mkdir -p "$work/bin"
ln -s /usr/bin/python3 "$work/bin/python3"
export PATH="$work/bin:$work/prefix/bin:$PATH"
export PKG_CONFIG_PATH="$work/prefix/$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
export PYTHONPATH="$root/python${PYTHONPATH:+:$PYTHONPATH}"
export WEFT_REPO="$root" # the few blocks that use the source tree (the bench scripts) find it here
# mpirun as root, as docs/mpi.md says (a user's own account needs neither)
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset WEFT_BACKEND WEFT_N_JOBS WEFT_VERBOSE WEFT_DEBUG WEFT_CACHE_DIR
# the blocks run in $work/docs/<file>/, each beside a link to node_modules
/usr/bin/python3 scripts/doc_blocks.py --link "$work/node_modules" "$work/docs" "${files[@]}"
