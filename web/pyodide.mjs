// The Pyodide page (web/pyodide.html): Pyodide and its files from the npm package in
// tests/pyodide/node_modules (served locally by web/serve.mjs; nothing from a CDN), the
// weft-parallel wheel from python/dist, the demo's tasks from build/emscripten/web. The
// Python script (pyodide-sweep.py) does the work; this file only boots and draws.
// URL parameters: grid, reps, jobs (as web/index.html), fail=1, cache=0, wheel=URL,
// db=NAME (the IndexedDB cache, default weft-pyodide), archive=URL (import it first), export=1,
// worker_start_ms (default 30000: past it the page's own thread runs the tasks).
// window.pyDemo holds the page's state for tests/browser/pyodide.test.mjs.
import { loadPyodide } from '../tests/pyodide/node_modules/pyodide/pyodide.mjs';
import { load } from '../wasm/js/browser/load.mjs';

const $ = id => document.getElementById(id);
const params = new URLSearchParams(location.search);
const int = (name, dflt) => Number.parseInt(params.get(name) ?? dflt, 10);
const pyDemo = window.pyDemo = { done: false, result: null, error: null, workers: [], hits: 0, misses: 0 };

function showProgress(done, total) {
  const percent = total ? Math.floor(100 * done / total) : 100;
  $('progress-fill').style.width = `${percent}%`;
  $('progress-text').textContent = `${percent} %`;
}

/** The weft object Python drives, with the page's own per-batch view (onBatch) added:
 * which workers ran the batches. */
function observed(weft, lanes) {
  const withBatches = o => ({ ...o, onBatch: b => { lanes.add(b.worker); $('workers').textContent = [...lanes].sort().join(', '); } });
  return Object.assign(Object.create(weft), {
    map: (task, inputs, o) => weft.map(task, inputs, withBatches(o)),
    imap: (task, inputs, o) => weft.imap(task, inputs, withBatches(o)),
  });
}

try {
  const t0 = performance.now();
  const wheelUrl = new URL(params.get('wheel') ?? '../python/dist/weft_parallel-0.1.0-py3-none-any.whl', import.meta.url);
  const fetchBytes = async url => {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
    return r.arrayBuffer();
  };
  const archiveUrl = params.get('archive');
  const [pyodide, weft, wheel, script, archive] = await Promise.all([
    loadPyodide({ indexURL: new URL('../tests/pyodide/node_modules/pyodide/', import.meta.url).href }),
    load({ moduleUrl: new URL('../build/emscripten/web/web_tasks.mjs', import.meta.url), workerStartTimeoutMs: int('worker_start_ms', 30000) }),
    fetch(wheelUrl).then(r => { if (!r.ok) throw new Error(`${wheelUrl}: HTTP ${r.status} (python3 python/build_wheel.py builds it)`); return r.arrayBuffer(); }),
    fetch(new URL('pyodide-sweep.py', import.meta.url)).then(r => r.text()),
    archiveUrl ? fetchBytes(new URL(archiveUrl, location.href)) : undefined, // None in Python
  ]);
  $('script').textContent = script;
  const site = pyodide.runPython('import site; site.getsitepackages()[0]');
  pyodide.unpackArchive(wheel, 'wheel', { extractDir: site });
  const lanes = new Set();
  pyodide.registerJsModule('weft_tasks', observed(weft, lanes));
  pyodide.registerJsModule('weft_page', {
    grid: int('grid', 16), reps: int('reps', 20), jobs: int('jobs', -1),
    fail: params.get('fail') === '1', cache: params.get('cache') !== '0', showProgress,
    db: params.get('db') ?? 'weft-pyodide', archive, export: params.get('export') === '1',
  });
  const res = (await pyodide.runPythonAsync(script)).toJs({ dict_converter: Object.fromEntries });
  Object.assign(pyDemo, res, { workers: [...lanes].sort(), ms: performance.now() - t0 });
  $('hits').textContent = res.hits, $('misses').textContent = res.misses;
  if (!lanes.size) $('workers').textContent = res.hits ? 'none (every point came from the cache)' : 'none';
  $('elapsed').textContent = `${Math.round(res.seconds * 1000)} ms`;
  if (res.error) {
    $('error').hidden = false;
    $('error').textContent = `Python caught weft.${res.error.type}: item ${res.error.index} of ${res.error.task} failed: ${res.error.message} (${res.error.code})`;
  } else {
    $('output').textContent = `mean attack rate ${res.mean_attack.toFixed(4)} over ${res.result.length / 4} points`;
  }
} catch (e) {
  pyDemo.error = { type: 'page', message: String(e?.message ?? e) };
  $('error').hidden = false;
  $('error').textContent = String(e?.message ?? e);
} finally {
  pyDemo.done = true;
}
