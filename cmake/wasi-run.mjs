// Run a WASI (preview 1) program under Node: node wasi-run.mjs prog.wasm [args...]
// The WASI toolchain file makes this CTest's CMAKE_CROSSCOMPILING_EMULATOR, so `ctest`
// works in a WASI build folder. The program sees the environment, its arguments, the
// file system through absolute paths, and a fresh temporary folder as $TMPDIR (removed
// when it ends); its exit status is ours.
//
// Preopens: Debian's wasi-libc (2022) strips "/" and "./" from preopen names, so "/" and
// "." tie, and the later one wins every path, absolute or relative (its working directory
// is always "/"). Preopening "." after "/" made every absolute path outside the working
// directory ENOENT. So "/" alone, plus the temporary folder under its own absolute name
// (a longer prefix, so it is the one used below it). The program starts in "/"; weft's
// WASI platform layer (platform/wasi.c) moves it to $PWD, which we set to our working
// directory, so relative paths mean what they mean to the user.
//
// Node warns that WASI is experimental on every run; that line is for us, not for the
// program's user, so only that warning is dropped.
//
// node:wasi writes to the real file descriptors synchronously; a pipe that Node has made
// non-blocking then fails with EAGAIN once it is full and output is lost. So when our
// stdout or stderr is a pipe or socket, the program writes to a temporary file instead,
// copied out when it ends (stdout and stderr then no longer interleave).
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const emitWarning = process.emitWarning;
process.emitWarning = function (warning, ...rest) {
  const type = typeof rest[0] === 'string' ? rest[0] : rest[0]?.type;
  if (type === 'ExperimentalWarning' && /WASI/.test(String(warning?.message ?? warning))) return;
  return emitWarning.call(this, warning, ...rest);
};
const { WASI } = await import('node:wasi');

const [file, ...args] = process.argv.slice(2);
if (!file) {
  console.error('usage: node wasi-run.mjs program.wasm [args...]');
  process.exit(2);
}

let scratch;
function target(fd) {
  const st = fstatSync(fd);
  if (!st.isFIFO() && !st.isSocket()) return { fd };
  scratch ??= mkdtempSync(join(tmpdir(), 'wasi-run-'));
  const path = join(scratch, String(fd));
  return { fd: openSync(path, 'w'), path, to: fd };
}
const out = target(1), err = target(2);

const tmp = mkdtempSync(join(tmpdir(), 'wasi-tmp-'));
const wasi = new WASI({
  version: 'preview1',
  args: [file, ...args],
  env: { ...process.env, TMPDIR: tmp, PWD: process.cwd() },
  preopens: { '/': '/', [tmp]: tmp },
  stdout: out.fd,
  stderr: err.fd,
  returnOnExit: true,
});
let status = 1;
try {
  const module = await WebAssembly.compile(readFileSync(file));
  const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
  status = wasi.start(instance);
} finally {
  for (const t of [out, err]) {
    if (!t.path) continue;
    closeSync(t.fd);
    const data = readFileSync(t.path);
    // writeSync on a non-blocking pipe may also meet EAGAIN: retry until all is out.
    for (let at = 0; at < data.length;) {
      try {
        at += writeSync(t.to, data, at);
      } catch (e) {
        if (e.code !== 'EAGAIN') throw e;
      }
    }
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  rmSync(tmp, { recursive: true, force: true });
}
process.exitCode = status;
