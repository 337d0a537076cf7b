#!/usr/bin/env bash
# The outside project (this folder) under Emscripten: its task (cube.c) becomes a module
# for the JavaScript API through weft_add_wasm_module, with weft's source tree added by
# add_subdirectory, and with an Emscripten build of weft installed into a prefix and found
# by find_package(weft). Node then maps the task through each module.
#   run-wasm.sh [EMSCRIPTEN_BUILD_DIR]    default build/emscripten (built: scripts/test-wasm.sh)
# Needs emcmake (Debian: emscripten) and node.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-$root/build/emscripten}" && pwd)
fail() { echo "install test (wasm): $*" >&2; exit 1; }
command -v emcmake > /dev/null || fail "emcmake is not installed (Debian: apt-get install emscripten)"
# emcc 3.1's optimiser (any -O1 and up link) needs the acorn module: Debian keeps it here
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
jobs=$(nproc 2>/dev/null || echo 2)

tmp=$(mktemp -d "${TMPDIR:-/tmp}/weft-install-wasm.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

check_module() { # name, module base path
    out=$(node --input-type=module -e "
        import { load } from '$root/wasm/js/index.mjs';
        const weft = await load({ module: '$2' });
        const x = BigInt64Array.from({ length: 1001 }, (_, i) => BigInt(i - 500));
        const y = await weft.map('cube', x, { nJobs: 2 });
        let sum = 0n;
        for (const v of y) if (v > 0n) sum += v;
        console.log('cube ok, sum of positive cubes', String(sum));") || fail "$1: node could not map the module's task"
    [ "$out" = "cube ok, sum of positive cubes 15687562500" ] || fail "$1: node printed: $out"
    echo "$1: $out"
}

# ---- add_subdirectory(weft)
emcmake cmake -S "$here" -B "$tmp/subdir" -DCMAKE_BUILD_TYPE=Release -DWEFT_SOURCE_DIR="$root" \
    > "$tmp/subdir-configure.log" 2>&1 || { cat "$tmp/subdir-configure.log"; fail "add_subdirectory(weft): emcmake cmake failed"; }
cmake --build "$tmp/subdir" -j "$jobs" --target consumer_tasks > "$tmp/subdir-build.log" 2>&1 \
    || { tail -40 "$tmp/subdir-build.log"; fail "add_subdirectory(weft): the build failed"; }
for f in consumer_tasks.node.cjs consumer_tasks.node.wasm consumer_tasks.mjs consumer_tasks.wasm; do
    [ -f "$tmp/subdir/$f" ] || fail "add_subdirectory(weft): $f was not made"
done
check_module "add_subdirectory, wasm module" "$tmp/subdir/consumer_tasks"

# ---- find_package(weft) of an installed Emscripten build
cmake --install "$build" --prefix "$tmp/prefix" > "$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install $build failed"; }
# Emscripten's toolchain looks for packages only under CMAKE_FIND_ROOT_PATH
emcmake cmake -S "$here" -B "$tmp/package" -DCMAKE_BUILD_TYPE=Release -DCMAKE_FIND_ROOT_PATH="$tmp/prefix" \
    > "$tmp/package-configure.log" 2>&1 || { cat "$tmp/package-configure.log"; fail "find_package(weft): emcmake cmake failed"; }
grep -q "weft_DIR:PATH=$tmp/prefix/" "$tmp/package/CMakeCache.txt" || fail "find_package(weft) did not find the installed package"
cmake --build "$tmp/package" -j "$jobs" --target consumer_tasks > "$tmp/package-build.log" 2>&1 \
    || { tail -40 "$tmp/package-build.log"; fail "find_package(weft): the build failed"; }
check_module "find_package, wasm module" "$tmp/package/consumer_tasks"
echo "install test (wasm) passed"
