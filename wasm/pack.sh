#!/usr/bin/env bash
# The npm package, from an Emscripten build folder: wasm/ (package.json, README.md, js/,
# bin/weft-build.mjs), the example task module in dist/, and what building your own tasks
# needs: include/ (weft.h, weft_wasm.h), lib/libweft.a (the core and the JS API's glue,
# built for Emscripten), cmake/ (WeftWasm.cmake and the emcc flags it shares with
# weft-build), packed with `npm pack`. The package's name is wasm/package.json's.
# Prints the tarball's path.
#   bash wasm/pack.sh [BUILD_DIR [OUT_DIR]]    defaults: build/emscripten, BUILD_DIR/npm
# Build the module first: cmake --build --preset emscripten --target example_tasks
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "${1:-build/emscripten}")
out=$(realpath -m "${2:-$build/npm}")
module="$build/examples/wasm-tasks/example_tasks"
for f in "$module.node.cjs" "$module.node.wasm" "$module.mjs" "$module.wasm" "$build/libweft.a"; do
  [ -f "$f" ] || { echo "pack.sh: $f is missing: cmake --build --preset emscripten --target example_tasks" >&2; exit 1; }
done
stage="$out/stage"
rm -rf "$stage"
mkdir -p "$stage/dist" "$stage/include" "$stage/lib" "$stage/cmake" "$out"
cp -r wasm/package.json wasm/README.md wasm/js wasm/bin LICENSE "$stage/"
cp "$module.node.cjs" "$module.node.wasm" "$module.mjs" "$module.wasm" "$stage/dist/"
cp core/include/weft.h core/include/weft_memory.h wasm/include/weft_wasm.h "$stage/include/"
cp "$build/libweft.a" "$stage/lib/"
cp cmake/WeftWasm.cmake cmake/weft-emcc-flags.json "$stage/cmake/"
# a private npm cache: packing reads nothing from the network or the user's cache
name=$(cd "$stage" && npm pack --silent --cache "$out/npm-cache" --pack-destination "$out")
echo "$out/$name"
