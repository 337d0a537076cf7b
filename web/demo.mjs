// The demo page: an SIR parameter sweep (web_tasks) on weft's Web Workers, with a live
// progress bar, a per-worker timeline drawn from the run's trace (which "download trace"
// saves for Perfetto UI), a heatmap of the results and cache counters.
// URL parameters: backend=sequential, noworker=1 (hide Worker: the fallback), fail=1,
// grid=N, reps=N, jobs=N, autorun=0. window.demo holds the page's state for tests.
import { load, WeftTrace } from '../wasm/js/browser/load.mjs';
import { sweepInputs, POINT_SIZE, RESULT_SIZE } from './sweep.mjs';
import { drawHeatmap, Timeline } from './view.mjs';

const params = new URLSearchParams(location.search);
if (params.get('noworker') === '1') globalThis.Worker = undefined; // as in a browser without workers
const $ = id => document.getElementById(id);
for (const id of ['grid', 'reps']) if (params.has(id)) $(id).value = params.get(id);
if (params.get('fail') === '1') $('fail').checked = true;

const demo = window.demo = { done: false, runs: 0, error: null, result: null, workers: [], backend: null };
const timeline = new Timeline($('timeline'));
let trace = null; // the last run's

/** Save the last run's trace as a file (Perfetto UI, chrome://tracing, `weft trace summary`). */
$('download-trace').onclick = () => {
  const url = URL.createObjectURL(new Blob([trace.toString()], { type: 'application/json' }));
  const a = Object.assign(document.createElement('a'), { href: url, download: 'weft-trace.json' });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
};

function showError(e) {
  // a task's failure names the item (its grid point) and the task's own message
  const text = e?.name === 'WeftError' && e.index >= 0
    ? `Task ${e.index} failed (${e.task}, ${e.code}): ${e.message}`
    : `The run failed: ${e?.message || e}`;
  $('error').textContent = text;
  $('error').hidden = false;
  demo.error = text;
}

function setProgress(done, total, ms) {
  const pct = Math.floor((100 * done) / total);
  $('progress-fill').style.width = `${pct}%`;
  $('progress-text').textContent = `${pct} %`;
  $('elapsed').textContent = `${Math.round(ms)} ms`;
  demo.percent = pct;
}

async function run(weft) {
  const grid = Number($('grid').value), replicates = Number($('reps').value);
  const n = grid * grid;
  Object.assign(demo, { done: false, error: null, result: null, workers: [], percent: 0 });
  $('error').hidden = true;
  $('run').disabled = true;
  $('download-trace').disabled = true;
  timeline.reset();
  trace = new WeftTrace({ label: 'weft demo page' });
  setProgress(0, n, 0);
  // the IndexedDB Memory only where this build of weft offers it (feature check)
  // ?cache=0 runs without the cache (to compare backends on fresh work)
  const memory = weft.features.memory.includes('indexeddb') && params.get('cache') !== '0' ? 'indexeddb:weft-demo' : undefined;
  $('cache-note').textContent = memory ? '(IndexedDB: a reload is served from it)' : params.get('cache') === '0' ? '(cache off: ?cache=0)' : '(no cache in this build)';
  const options = {
    out: Float64Array, inSize: POINT_SIZE, outSize: RESULT_SIZE, memory,
    backend: params.get('backend') === 'sequential' ? 'sequential' : 'workers',
    nJobs: params.has('jobs') ? Number(params.get('jobs')) : -1,
    onProgress: p => {
      setProgress(p.done, p.total, p.elapsedMs);
      if (p.hits !== undefined) $('hits').textContent = p.hits, $('misses').textContent = p.misses;
      hits = p.hits ?? 0;
    },
    onBatch: () => timeline.changed(),
    trace,
  };
  let hits = 0;
  const t0 = performance.now();
  try {
    const inputs = sweepInputs({ grid, replicates, failAt: $('fail').checked ? Math.floor(n / 2) : -1 });
    timeline.start(trace, t0);
    const out = await weft.map('simulate_sir', inputs, options);
    drawHeatmap($('heatmap'), out, grid);
    $('heatmap-note').hidden = true;
    demo.result = Array.from(out);
  } catch (e) {
    showError(e);
  } finally {
    timeline.render();
    if (!demo.error && hits === n) {
      // nothing ran: say so, rather than an empty timeline and a bare time
      $('elapsed').textContent = `${Math.round(performance.now() - t0)} ms, all read from the cache`;
      timeline.note(`All ${n} results were read from the IndexedDB cache: no task ran, so no ` +
        'batches to show. Run with ?cache=0 (or another grid) to compute again.');
    }
    demo.fromCache = !demo.error && hits === n;
    demo.workers = timeline.workers();
    demo.ms = performance.now() - t0;
    demo.trace = trace.toJSON();
    demo.runs++;
    demo.done = true;
    $('run').disabled = false;
    $('download-trace').disabled = false;
  }
}

try {
  const weft = await load({ moduleUrl: new URL('../build/emscripten/web/web_tasks.mjs', import.meta.url) });
  demo.backend = weft.backendInfo;
  $('backend').textContent = weft.backendInfo.backend === 'workers'
    ? `backend: Web Workers (${navigator.hardwareConcurrency} CPUs)`
    : `backend: sequential fallback — ${weft.backendInfo.reason}`;
  $('run').onclick = () => run(weft);
  if (params.get('autorun') !== '0') await run(weft);
  else {
    $('heatmap-note').textContent = 'No results yet: press Run.';
    demo.done = true;
  }
} catch (e) {
  showError(e);
  demo.done = true;
}
