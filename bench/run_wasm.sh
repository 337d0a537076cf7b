#!/usr/bin/env bash
# wasm against native on this machine, in one run: bench/wasm_compute.c (the demo's SIR
# task and a Mandelbrot tile, weft_map on the sequential backend) built natively with gcc
# and with clang-14, for WASI (clang-14, run under node:wasi) and for Emscripten (run
# under Node), the wasm builds with and without SIMD (-msimd128); the task code at -O2
# everywhere, the library at its presets' Release -O3. Checks that every build's outputs
# agree, then prints ns/item and native (gcc) time / each build's time (target >= 0.7).
#   bash bench/run_wasm.sh [rounds]      (from the repository root; default 5 rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}" # emcc's optimiser needs acorn
for preset in release wasi emscripten; do
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$(nproc)" --target weft_static >/dev/null
done
out=build/bench-wasm
mkdir -p "$out"
src=(bench/wasm_compute.c examples/demo/sir.c)
flags=(-O2 -std=c11 -Icore/include)

gcc "${flags[@]}" "${src[@]}" build/release/libweft.a -lxxhash -lm -lpthread -o "$out/native"
# the wasm builds' compiler natively too: tells the compiler's share from wasm's
clang-14 "${flags[@]}" "${src[@]}" build/release/libweft.a -lxxhash -lm -lpthread -o "$out/native-clang"
wasi=(clang-14 --target=wasm32-wasi -nostdlibinc -idirafter /usr/include/wasm32-wasi
  -L/usr/lib/wasm32-wasi -Wl,--stack-first)
"${wasi[@]}" "${flags[@]}" "${src[@]}" build/wasi/libweft.a -o "$out/wasi.wasm"
"${wasi[@]}" "${flags[@]}" -msimd128 "${src[@]}" build/wasi/libweft.a -o "$out/wasi-simd.wasm"
em=(emcc -sSINGLE_FILE=1 -sEXIT_RUNTIME=1)
"${em[@]}" "${flags[@]}" "${src[@]}" build/emscripten/libweft.a -o "$out/em.js"
"${em[@]}" "${flags[@]}" -msimd128 "${src[@]}" build/emscripten/libweft.a -o "$out/em-simd.js"

declare -A result
run() { result[$1]=$("${@:2}" "$rounds") || { echo "run_wasm: $1 failed" >&2; exit 1; }; }
run native "$out/native"
run native-clang "$out/native-clang"
run wasi node --no-warnings cmake/wasi-run.mjs "$out/wasi.wasm"
run wasi-simd node --no-warnings cmake/wasi-run.mjs "$out/wasi-simd.wasm"
run emscripten node "$out/em.js"
run emscripten-simd node "$out/em-simd.js"

builds=(native native-clang wasi wasi-simd emscripten emscripten-simd)
field() { echo "${result[$1]}" | awk -v k="$2" -v f="$3" '$1 == k { print $f }'; }
for b in "${builds[@]}"; do # the same outputs everywhere, or no figures
  for k in sir mandelbrot; do
    if [ "$(field "$b" $k 3)" != "$(field native $k 3)" ]; then
      echo "run_wasm: $b's $k outputs differ from native: $(field "$b" $k 3) vs $(field native $k 3)" >&2
      exit 1
    fi
  done
done
echo "wasm compute against native ($(nproc) CPUs, $(uname -m), node $(node --version); best of $rounds; outputs agree)"
printf '%-16s %14s %8s %16s %8s\n' build "sir ns/item" ratio "mandel ns/item" ratio
for b in "${builds[@]}"; do
  s=$(field "$b" sir 2) m=$(field "$b" mandelbrot 2)
  printf '%-16s %14s %8s %16s %8s\n' "$b" "$s" \
    "$(awk -v n="$(field native sir 2)" -v w="$s" 'BEGIN { printf "%.2f", n / w }')" "$m" \
    "$(awk -v n="$(field native mandelbrot 2)" -v w="$m" 'BEGIN { printf "%.2f", n / w }')"
done
echo "ratio = native (gcc) time / this build's time (target for wasm >= 0.7)"
