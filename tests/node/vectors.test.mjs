// The same test tasks built natively, for WASI and for Emscripten (with and without
// pthreads) must print byte-identical vectors (tests/vectors/run_vectors.c).
//
// Build folders, relative to the repository root unless absolute:
//   WEFT_NATIVE_BUILD               default build/release
//   WEFT_WASI_BUILD                 default build/wasi
//   WEFT_EMSCRIPTEN_BUILD           default build/emscripten
//   WEFT_EMSCRIPTEN_PTHREADS_BUILD  default build/emscripten-pthreads
// A missing build fails its test (CI builds all four first: scripts/test-wasm.sh).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const RUNNER = join('tests', 'vectors', 'run_vectors');
const TIMEOUT_MS = 180_000;

function program(envName, defaultDir, preset, suffix) {
  const dir = resolve(root, process.env[envName] || defaultDir);
  return { path: join(dir, RUNNER + suffix), dir, envName, preset };
}
const builds = {
  native: program('WEFT_NATIVE_BUILD', 'build/release', 'release', ''),
  wasi: program('WEFT_WASI_BUILD', 'build/wasi', 'wasi', '.wasm'),
  emscripten: program('WEFT_EMSCRIPTEN_BUILD', 'build/emscripten', 'emscripten', '.js'),
  pthreads: program('WEFT_EMSCRIPTEN_PTHREADS_BUILD', 'build/emscripten-pthreads',
                    'emscripten-pthreads', '.js'),
};

function requireBuilt(b) {
  if (!existsSync(b.path)) {
    assert.fail(`${b.path} does not exist: build it with\n` +
      `  cmake --preset ${b.preset} && cmake --build --preset ${b.preset} --target run_vectors\n` +
      `(or set ${b.envName} to its build folder; scripts/test-wasm.sh builds all four)`);
  }
}

// The runners read no WEFT_* setting that matters (every pool is opened explicitly), but
// leave none in their way.
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEFT_')));

// Output goes to temporary files, not pipes: the Emscripten pthreads build prints with
// fs.writeSync(1, ...), which fails with EAGAIN on the non-blocking pipe spawnSync gives
// a child once the pipe is full (seen: stdout cut at 80 kB, run_vectors exiting with 2).
function withOutputFiles(fn) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-vectors-'));
  const outPath = join(dir, 'stdout'), errPath = join(dir, 'stderr');
  const fds = [];
  try {
    fds.push(openSync(outPath, 'w'), openSync(errPath, 'w'));
    return fn(fds[0], fds[1], () => {
      while (fds.length) closeSync(fds.pop());
      return { stdout: readFileSync(outPath), stderr: readFileSync(errPath, 'utf8') };
    });
  } finally {
    while (fds.length) closeSync(fds.pop());
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(command, args) {
  return withOutputFiles((out, err, collect) => {
    const r = spawnSync(command, args, {
      cwd: root,
      env: childEnv,
      stdio: ['ignore', out, err],
      timeout: TIMEOUT_MS,
    });
    if (r.error) throw r.error;
    return { status: r.status, signal: r.signal, ...collect() };
  });
}

// node:wasi in this process, with its stdout and stderr in files as well.
async function runWasi(path) {
  const { WASI } = await import('node:wasi');
  const module = await WebAssembly.compile(readFileSync(path));
  return withOutputFiles((out, err, collect) => {
    const wasi = new WASI({
      version: 'preview1',
      args: [path],
      env: childEnv,
      stdout: out,
      stderr: err,
      returnOnExit: true,
    });
    const instance = new WebAssembly.Instance(module, wasi.getImportObject());
    const status = wasi.start(instance);
    return { status, signal: null, ...collect() };
  });
}

function summaryOf(run) {
  const line = run.stderr.split('\n').find((l) => l.startsWith('run_vectors: backends:'));
  return line ?? '';
}

// The end of stderr, enough to explain a failure without flooding the report.
function tail(text, max = 4000) {
  return text.length <= max ? text : `...\n${text.slice(-max)}`;
}

// Exit status 0 means every backend, n_jobs and batch size agreed with the reference.
function assertClean(name, run) {
  assert.equal(run.signal, null, `${name}: killed by ${run.signal}\n${tail(run.stderr)}`);
  assert.equal(run.status, 0, `${name}: run_vectors exited with ${run.status}\n${tail(run.stderr)}`);
  assert.ok(run.stdout.length > 0, `${name}: no output`);
  assert.match(summaryOf(run), / 0 differ; 0 broken invariants/, `${name}: ${tail(run.stderr)}`);
}

function assertBackends(name, run, expected) {
  const m = /backends: ([^;]*);/.exec(summaryOf(run));
  assert.ok(m, `${name}: no summary line on stderr:\n${tail(run.stderr)}`);
  assert.equal(m[1], expected, `${name}: expected backends '${expected}', the build has '${m[1]}'`);
}

// Byte equality, with the first differing line named instead of a 200 kB diff.
function assertSameBytes(name, got, want) {
  if (Buffer.compare(got, want) === 0) return;
  const g = got.toString('latin1').split('\n'), w = want.toString('latin1').split('\n');
  let i = 0;
  while (i < g.length && i < w.length && g[i] === w[i]) i++;
  let section = '(start)';
  for (let k = 0; k < i && k < w.length; k++) if (w[k].startsWith('== ')) section = w[k];
  assert.fail(`${name} output differs from native (${got.length} vs ${want.length} bytes), ` +
    `first at line ${i + 1}, in section '${section}':\n` +
    `  native: ${w[i] ?? '(end of output)'}\n  ${name}: ${g[i] ?? '(end of output)'}`);
}

let nativeRun;
function native() {
  requireBuilt(builds.native);
  nativeRun ??= runChild(builds.native.path, []);
  assertClean('native', nativeRun);
  return nativeRun;
}

test('native runner: every backend agrees with the sequential reference', { timeout: TIMEOUT_MS }, (t) => {
  const run = native();
  assertBackends('native', run, 'sequential threads processes');
  assert.match(run.stdout.toString('latin1'), /^weft test vectors 1 /);
  assert.match(run.stdout.toString('latin1'), /\n== end\n$/);
  t.diagnostic(summaryOf(run));
});

test('WASI build (node:wasi) prints what native prints', { timeout: TIMEOUT_MS }, async (t) => {
  const want = native().stdout;
  requireBuilt(builds.wasi);
  const run = await runWasi(builds.wasi.path);
  assertClean('wasi', run);
  assertBackends('wasi', run, 'sequential');
  assertSameBytes('wasi', run.stdout, want);
  t.diagnostic(summaryOf(run));
});

test('Emscripten build (sequential) prints what native prints', { timeout: TIMEOUT_MS }, (t) => {
  const want = native().stdout;
  requireBuilt(builds.emscripten);
  const run = runChild(process.execPath, [builds.emscripten.path]);
  assertClean('emscripten', run);
  assertBackends('emscripten', run, 'sequential');
  assertSameBytes('emscripten', run.stdout, want);
  t.diagnostic(summaryOf(run));
});

test('Emscripten pthreads build (threads backend) prints what native prints', { timeout: TIMEOUT_MS }, (t) => {
  const want = native().stdout;
  requireBuilt(builds.pthreads);
  const run = runChild(process.execPath, [builds.pthreads.path]);
  assertClean('emscripten-pthreads', run);
  // without the threads backend this build would test nothing the sequential one does not
  assertBackends('emscripten-pthreads', run, 'sequential threads');
  assertSameBytes('emscripten-pthreads', run.stdout, want);
  t.diagnostic(summaryOf(run));
});
