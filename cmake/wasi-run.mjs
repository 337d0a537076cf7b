// Run a WASI (preview 1) program under Node: node wasi-run.mjs prog.wasm [args...]
// The WASI toolchain file makes this CTest's CMAKE_CROSSCOMPILING_EMULATOR, so `ctest`
// works in a WASI build folder. The program sees the environment, its arguments and the
// file system (the root and the working directory preopened); its exit status is ours.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node wasi-run.mjs program.wasm [args...]');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...args],
  env: process.env,
  preopens: { '/': '/', '.': process.cwd() },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(file));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
