// weft's browser entry (wasm/js/browser/load.mjs) in real chromium: module Web Workers on
// a page served without COOP/COEP give the same bytes as the sequential backend and as
// Node; errors cross the worker boundary intact; without Worker it falls back and says so.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, screenshot, useBrowser } from './harness.mjs';
import { load as loadNode } from '../../wasm/js/index.mjs';

const MODULE = 'build/emscripten/examples/wasm-tasks/example_tasks';
const TIMEOUT = 120_000; // a loaded 2-core machine
const env = useBrowser(MODULE);

/** A fresh blank page; `fn` runs in it with weft's browser load() (page.evaluate). */
async function inPage(fn, arg) {
  const { page } = env.browser;
  await page.goto(`${env.server.url}/tests/browser/fixtures/blank.html`);
  return page.evaluate(async ([src, arg]) => {
    const { load } = await import('/wasm/js/browser/load.mjs');
    return (0, eval)(src)(load, arg); // the test's function, with the page's load()
  }, [`(${fn})`, { module: `/${MODULE}.mjs`, ...arg }]);
}

test('a map on 2 workers gives the sequential backend\'s bytes, and Node\'s', { timeout: TIMEOUT }, async () => {
  env.browser.errors.length = 0;
  const r = await inPage(async (load, { module }) => {
    const weft = await load({ moduleUrl: module });
    const seeds = BigUint64Array.from({ length: 300 }, (_, i) => BigInt(i) * 7919n);
    const workers = new Set();
    let last = null;
    const par = await weft.map('pi_darts', seeds, { out: Float64Array, nJobs: 2, batchSize: 4,
      onBatch: b => workers.add(b.worker), onProgress: p => { last = p; } });
    const seq = await weft.map('pi_darts', seeds, { out: Float64Array, backend: 'sequential' });
    return { par: [...par], seq: [...seq], workers: [...workers], last, info: weft.backendInfo,
      isolated: crossOriginIsolated, features: weft.features };
  });
  assert.equal(r.isolated, false, 'the page runs without COOP/COEP');
  assert.deepEqual(r.info, { backend: 'workers', reason: null });
  assert.deepEqual(r.par, r.seq);
  assert.deepEqual(r.workers.sort(), [1, 2], 'batches ran on both workers');
  assert.equal(r.last.done, 300);
  const node = await loadNode({ module: join(repoRoot, MODULE) });
  const seeds = BigUint64Array.from({ length: 300 }, (_, i) => BigInt(i) * 7919n);
  assert.deepEqual(r.par, [...await node.map('pi_darts', seeds, { out: Float64Array, backend: 'sequential' })]);
  assert.deepEqual(env.browser.errors, []);
  await screenshot(env.browser.page, 'pool-map');
});

test('a failing task rejects with its index, code and message from a worker', { timeout: TIMEOUT }, async () => {
  const e = await inPage(async (load, { module }) => {
    const weft = await load({ moduleUrl: module });
    const xs = Float64Array.from({ length: 50 }, (_, i) => (i === 37 ? -2 : i));
    try {
      await weft.map('newton_sqrt', xs, { nJobs: 2, batchSize: 5 });
      return null;
    } catch (err) {
      return { name: err.name, index: err.index, code: err.code, message: err.message, task: err.task };
    }
  });
  assert.deepEqual(e, { name: 'WeftError', index: 37, code: 'WEFT_ETASK', message: 'sqrt of a negative number (-2)', task: 'newton_sqrt' });
});

test('without Worker, calls run sequentially and a warning says why', { timeout: TIMEOUT }, async () => {
  const warnings = [];
  const onConsole = m => { if (m.type() === 'warning') warnings.push(m.text()); };
  env.browser.page.on('console', onConsole);
  const r = await inPage(async (load, { module }) => {
    globalThis.Worker = undefined;
    const weft = await load({ moduleUrl: module });
    const out = await weft.map('newton_sqrt', Float64Array.of(4, 9, 16), { nJobs: 2 });
    return { out: [...out], info: weft.backendInfo, features: weft.features };
  });
  env.browser.page.off('console', onConsole);
  assert.deepEqual(r.out, [2, 3, 4]);
  assert.deepEqual(r.info, { backend: 'sequential', reason: 'this browser has no Web Workers' });
  assert.equal(r.features.workers, false);
  assert.ok(warnings.some(w => /sequential backend.*no Web Workers/.test(w)), warnings.join('\n'));
});

test('bad arguments to load() are clear errors', { timeout: TIMEOUT }, async () => {
  const r = await inPage(async (load, { module }) => {
    const msg = async p => { try { await p; return null; } catch (e) { return `${e.name}: ${e.message}`; } };
    return {
      unknown: await msg(load({ moduleUrl: module, nJobs: 2 })),
      missing: await msg(load({ moduleUrl: '/no/such_tasks.mjs' })),
      memory: await msg((await load({ moduleUrl: module, workers: false })).map('newton_sqrt', Float64Array.of(1), { memory: '/some/folder' })),
    };
  });
  assert.match(r.unknown, /TypeError: weft\.load: unknown option 'nJobs'/);
  assert.match(r.missing, /no\/such_tasks\.wasm: HTTP 404/);
  assert.match(r.memory, /RangeError: .*memory '\/some\/folder' is not supported by this build \(weft\.features\.memory: \[indexeddb\]\)/);
});
