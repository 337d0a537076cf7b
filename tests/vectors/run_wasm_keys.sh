#!/usr/bin/env bash
# Check the cache-key vectors and the golden cache under WASI and Emscripten; part of
# scripts/test-wasm.sh (the native build checks them in ctest: memory_key_vectors).
# Builds check_keys.c with the core for each target, the xxHash header inlined, and runs
# it under Node. The big vectors (up to 9 MB) need a memory that grows.
#   bash tests/vectors/run_wasm_keys.sh      (from the repository root)
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/vectors-wasm
mkdir -p "$out/xxhash-include"
cp /usr/include/xxhash.h "$out/xxhash-include/"   # only this header: no -I/usr/include
# the packed store is native only (SQLite): WebAssembly builds keep the file store
core=$(ls core/*.c memory/*.c | grep -v -e store_packed -e store_folder -e store_migrate -e store_log)
flags=(-O2 -std=c11 -Icore/include -Icore -Imemory -isystem "$out/xxhash-include" -Wno-shift-count-overflow)

# The vectors are copied: a check touches the golden entries (LRU times, a probe file).
rm -rf "$out/vectors-wasi" "$out/vectors-em"
cp -r tests/vectors "$out/vectors-wasi"
cp -r tests/vectors "$out/vectors-em"

clang --target=wasm32-wasi "${flags[@]}" $core platform/host_posix.c platform/wasi.c \
  platform/no_processes.c native/none.c tests/vectors/check_keys.c -lm -o "$out/check_keys.wasm"
cat > "$out/run_wasi.mjs" <<'JS'
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
const [wasm, dir] = process.argv.slice(2);
const wasi = new WASI({ version: 'preview1', preopens: { '/v': dir },
  args: ['check_keys', '/v/memory_keys.txt', '/v/golden-cache'] });
const inst = await WebAssembly.instantiate(await WebAssembly.compile(await readFile(wasm)),
                                           wasi.getImportObject());
process.exitCode = wasi.start(inst);
JS
echo "WASI:"
node --no-warnings "$out/run_wasi.mjs" "$out/check_keys.wasm" "$out/vectors-wasi"

NODE_PATH=/usr/share/nodejs emcc "${flags[@]}" $core platform/host_posix.c platform/threads_posix.c \
  platform/signals_posix.c platform/no_processes.c platform/emscripten.c native/none.c tests/vectors/check_keys.c -sNODERAWFS=1 -sEXIT_RUNTIME=1 -sALLOW_MEMORY_GROWTH=1 \
  -o "$out/check_keys.js"
echo "Emscripten:"
node --no-experimental-fetch "$out/check_keys.js" "$out/vectors-em/memory_keys.txt" "$out/vectors-em/golden-cache"
