// weft's Python package under Pyodide in Node (python/weft/_engine/pyodide.py), in one table:
//   A. per-item overhead of `await weft.map_async` on 100 000 tiny items (py_square, 8-byte
//      doubles, 2 workers) vs the same call made from JS (weft.map): target <= 1.5x; and
//      `async for` over weft.imap vs `for await` over the JS imap (no target);
//   B. a CPU-bound sweep (the demo's SIR model) inside Pyodide: weft.map_async of the C task
//      on 2 workers vs joblib.Parallel(n_jobs=2) of the same model in Python (Debian's
//      joblib 1.2.0; Python 3.13 has no distutils, so a 12-line distutils.version shim is
//      written into Pyodide's in-memory file system), a plain Python loop, and the C task on
//      weft's sequential backend: target >= 1.8x for 2 workers vs joblib, and the 2-worker
//      vs 1-thread speed-up of the C task is shown beside it.
// Best of 5 runs each (A: of 20, JS and Python interleaved; the slow Python sides of B: one
// run). Needs scripts/test-pyodide.sh's builds (pyodide_tasks, web_tasks, the wheel in
// python/dist).
//   node bench/pyodide_map.mjs [--quick]
import { readFileSync, existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { boot, mount, repoRoot } from '../tests/pyodide/boot.mjs';
import { load } from '../wasm/js/index.mjs';

const quick = process.argv.includes('--quick');
const wheel = join(repoRoot, 'python/dist/weft_parallel-0.1.0-py3-none-any.whl');
const N_TINY = quick ? 20_000 : 100_000, N_SIR = quick ? 10 : 200, REPS_SIR = 10;
const RUNS = quick ? 2 : 5;
const { pyodide, weft } = await boot({ wheel, module: join(repoRoot, 'build/emscripten/tests/pyodide/pyodide_tasks') });
const sir = await load({ module: join(repoRoot, 'build/emscripten/web/web_tasks') });
pyodide.registerJsModule('weft_sir', sir);
mount(pyodide, join(repoRoot, 'bench'), '/bench');
const joblibDir = '/usr/lib/python3/dist-packages/joblib';
const haveJoblib = existsSync(joblibDir);
if (haveJoblib) {
  mount(pyodide, joblibDir, '/peers/joblib');
  pyodide.FS.mkdirTree('/peers/distutils');
  pyodide.FS.writeFile('/peers/distutils/__init__.py', '');
  pyodide.FS.writeFile('/peers/distutils/version.py', `import re
class LooseVersion:
    def __init__(self, v):
        self.vstring = str(v)
        self.version = [int(p) if p.isdigit() else p for p in re.split(r"[.+-]", self.vstring) if p]
    def _c(self, o):
        o = o if isinstance(o, LooseVersion) else LooseVersion(o)
        return (self.version > o.version) - (self.version < o.version)
    __lt__ = lambda s, o: s._c(o) < 0
    __le__ = lambda s, o: s._c(o) <= 0
    __gt__ = lambda s, o: s._c(o) > 0
    __ge__ = lambda s, o: s._c(o) >= 0
    __eq__ = lambda s, o: s._c(o) == 0
`);
}

async function best(fn, runs = RUNS) {
  let t = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

// A: the same map from JS and from Python (inputs made once, outside the timing)
const xs = Float64Array.from({ length: N_TINY }, (_, i) => i * 0.5);
const jsOpts = { outSize: 8, nJobs: 2 };
await weft.map('py_square', xs, jsOpts); // workers up
pyodide.globals.set('N_TINY', N_TINY);
await pyodide.runPythonAsync(`
import array, time, weft
xs = array.array("d", [i * 0.5 for i in range(N_TINY)])
async def tiny():
    return await weft.map_async("py_square", xs, out_size=8, n_jobs=2)
async def timed_tiny():  # ms, timed in Python around the await, as a user sees it
    t = time.perf_counter()
    await tiny()
    return (time.perf_counter() - t) * 1000
async def timed_imap():  # every item of an async for over weft.imap
    t = time.perf_counter()
    async for _ in weft.imap("py_square", xs, n_jobs=2):
        pass
    return (time.perf_counter() - t) * 1000
await tiny()
`);
const timedTiny = pyodide.globals.get('timed_tiny'), timedImap = pyodide.globals.get('timed_imap');
let jsMs = Infinity, pyMs = Infinity, jsImapMs = Infinity, pyImapMs = Infinity;
for (let i = 0; i < 4 * RUNS; i++) { // interleaved: both sides see the same machine load
  let t0 = performance.now();
  await weft.map('py_square', xs, jsOpts);
  jsMs = Math.min(jsMs, performance.now() - t0);
  pyMs = Math.min(pyMs, await timedTiny());
  if (i % 4) continue; // imap: a quarter of the runs
  t0 = performance.now();
  for await (const _ of weft.imap('py_square', xs, jsOpts));
  jsImapMs = Math.min(jsImapMs, performance.now() - t0);
  pyImapMs = Math.min(pyImapMs, await timedImap());
}
const same = await pyodide.runPythonAsync(`bytes(await tiny()) == bytes(${'__import__("array").array("d", [x * x + 1 for x in xs])'})`);

// B: the sweep
pyodide.globals.set('N_SIR', N_SIR), pyodide.globals.set('REPS_SIR', REPS_SIR);
pyodide.globals.set('HAVE_JOBLIB', haveJoblib);
await pyodide.runPythonAsync(`
import sys, warnings
sys.path[:0] = ["/bench", "/peers"]
import pyodide_sir
pts = pyodide_sir.points(N_SIR, REPS_SIR)
packed = pyodide_sir.packed(pts)
weft.use_module("weft_sir")
async def c_sweep(backend, n_jobs):
    return bytes(await weft.map_async("simulate_sir", packed, item_size=32, out_size=32,
                                      backend=backend, n_jobs=n_jobs))
def py_loop():
    return b"".join(pyodide_sir.simulate_sir(*p) for p in pts)
def py_joblib():
    from joblib import Parallel, delayed
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joblib says it falls back to sequential
        return b"".join(Parallel(n_jobs=2)(delayed(pyodide_sir.simulate_sir)(*p) for p in pts))
await c_sweep("workers", 2)
`);
const g = name => pyodide.globals.get(name);
const cWorkers = await best(() => g('c_sweep')('workers', 2));
const cSeq = await best(() => g('c_sweep')('sequential', 1));
const loopMs = await best(() => g('py_loop')(), 1); // seconds each: one run
const joblibMs = haveJoblib ? await best(() => g('py_joblib')(), 1) : NaN;
const sameSweep = await pyodide.runPythonAsync(`(await c_sweep("workers", 2)) == py_loop()`);
const joblibVersion = haveJoblib ? await pyodide.runPythonAsync('import joblib; joblib.__version__') : 'absent';

const us = ms => (ms * 1000).toFixed(3);
const verdict = ok => (ok ? 'met' : 'NOT MET');
const row = (...c) => console.log(c.map((x, i) => String(x).padEnd([56, 12, 12, 26][i] ?? 10)).join(''));
console.log(`weft Python package on Pyodide ${pyodide.version} in Node ${process.version}; ${availableParallelism()} CPUs ` +
  `(${cpus()[0]?.model.trim()}), load ${loadavg().map(x => x.toFixed(2)).join(' ')}; best of ${RUNS} (A: of ${4 * RUNS}; Python sides of B: one run)${quick ? ' (quick)' : ''}`);
console.log();
row('A. per item, py_square, 2 workers', 'us/item', 'total ms', 'target');
row(`   weft.map from JS (${N_TINY} items)`, us(jsMs / N_TINY), jsMs.toFixed(1), '');
row(`   await weft.map_async from Python`, us(pyMs / N_TINY), pyMs.toFixed(1),
  `<= 1.5x JS: ${(pyMs / jsMs).toFixed(2)}x ${verdict(pyMs / jsMs <= 1.5)}`);
row('   same results (bits)', same ? 'yes' : 'NO', '', '');
row(`   for await of weft.imap from JS`, us(jsImapMs / N_TINY), jsImapMs.toFixed(1), '');
row(`   async for over weft.imap from Python`, us(pyImapMs / N_TINY), pyImapMs.toFixed(1),
  `(no target): ${(pyImapMs / jsImapMs).toFixed(2)}x`);
console.log();
row(`B. SIR sweep, ${N_SIR} points x ${REPS_SIR} runs`, 'ms', 'vs joblib', 'target');
row(haveJoblib ? `   joblib.Parallel(n_jobs=2), Python (joblib ${joblibVersion})` : '   joblib: not installed (python3-joblib)', joblibMs.toFixed(1), '1.00x', '');
row('   plain Python loop', loopMs.toFixed(1), (joblibMs / loopMs).toFixed(2) + 'x', '');
row('   weft.map_async, C task, sequential (1 thread)', cSeq.toFixed(1), (joblibMs / cSeq).toFixed(2) + 'x', '');
const speed = (haveJoblib ? joblibMs : loopMs) / cWorkers;
row('   weft.map_async, C task, workers n_jobs=2', cWorkers.toFixed(1), speed.toFixed(2) + 'x',
  `>= 1.8x: ${verdict(speed >= 1.8)}`);
row('   2 workers vs 1 thread (same C task)', (cSeq / cWorkers).toFixed(2) + 'x', '', '');
row('   C and Python results identical (bits)', sameSweep ? 'yes' : 'NO', '', '');
await weft.close(), await sir.close();
if (!same || !sameSweep) {
  console.error('pyodide_map: results differ (see the "identical" rows)');
  process.exit(1);
}
