// The demo page (web/) in real chromium: it loads without console errors, runs the SIR
// sweep on >= 2 workers with the sequential backend's (and Node's) results, the progress
// bar reaches 100 %, a reload is served from IndexedDB and shows it, a failing point shows
// its index and message, and without Worker the page falls back to the sequential backend
// and says so. Screenshots: build/browser-artifacts.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot, screenshot, useBrowser } from './harness.mjs';
import { load as loadNode } from '../../wasm/js/index.mjs';
import { sweepInputs } from '../../web/sweep.mjs';

const MODULE = 'build/emscripten/web/web_tasks';
const TIMEOUT = 180_000; // a loaded 2-core machine
const SIZE = 'grid=12&reps=10';
const env = useBrowser(MODULE);

/** Open the demo with these URL parameters and wait (on page state) for its run to end. */
async function openDemo(query) {
  const { page } = env.browser;
  env.browser.errors.length = 0;
  await page.goto(`${env.server.url}/web/?${query}`);
  await page.waitForFunction(() => window.demo?.done === true, null, { timeout: TIMEOUT });
  return page.evaluate(() => ({
    ...window.demo,
    progress: document.getElementById('progress-text').textContent,
    bar: document.getElementById('progress-fill').style.width,
    lanes: [...document.querySelectorAll('#timeline .lane')].map(l => Number(l.dataset.worker)),
    blocks: document.querySelectorAll('#timeline .batch').length,
    error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
    backendText: document.getElementById('backend').textContent,
    counters: [document.getElementById('hits').textContent, document.getElementById('misses').textContent],
  }));
}

test('the demo runs on >= 2 workers with the sequential backend\'s and Node\'s results', { timeout: TIMEOUT }, async () => {
  const par = await openDemo(`${SIZE}&jobs=2`);
  await screenshot(env.browser.page, 'demo-workers');
  assert.deepEqual(env.browser.errors, [], 'no console errors');
  assert.equal(par.error, null);
  assert.equal(par.progress, '100 %');
  assert.equal(par.bar, '100%');
  assert.ok(par.lanes.length >= 2 && par.lanes.every(w => w >= 1), `timeline lanes: ${par.lanes}`);
  assert.ok(par.blocks >= 2);
  assert.deepEqual(par.counters, ['0', '144'], 'a fresh profile: every point computed');
  assert.equal(par.result.length, 144 * 4);

  // a reload: every point comes from IndexedDB, with the same results
  const again = await openDemo(`${SIZE}&jobs=2`);
  await screenshot(env.browser.page, 'demo-reload-from-cache');
  assert.deepEqual(env.browser.errors, []);
  assert.deepEqual(again.counters, ['144', '0'], 'served from IndexedDB');
  assert.equal(again.progress, '100 %');
  assert.deepEqual(again.result, par.result);

  const seq = await openDemo(`${SIZE}&backend=sequential&cache=0`);
  assert.deepEqual(seq.lanes, [0], 'the sequential run is on the page\'s thread');
  assert.deepEqual(seq.result, par.result);

  const node = await loadNode({ module: join(repoRoot, MODULE) });
  const want = await node.map('simulate_sir', sweepInputs({ grid: 12, replicates: 10 }),
    { inSize: 32, outSize: 32, out: Float64Array, backend: 'sequential' });
  assert.deepEqual(par.result, [...want]);
});

test('a failing point shows its index and the task\'s message', { timeout: TIMEOUT }, async () => {
  const r = await openDemo(`${SIZE}&jobs=2&fail=1&cache=0`);
  await screenshot(env.browser.page, 'demo-failure');
  assert.equal(r.error, 'Task 72 failed (simulate_sir, WEFT_ETASK): replicates must be positive, got 0');
  assert.equal(r.result, null);
});

test('?noworker=1: the page falls back to the sequential backend and says so', { timeout: TIMEOUT }, async () => {
  const r = await openDemo(`${SIZE}&noworker=1&cache=0`);
  await screenshot(env.browser.page, 'demo-noworker');
  assert.deepEqual(env.browser.errors, []);
  assert.deepEqual(r.backend, { backend: 'sequential', reason: 'this browser has no Web Workers' });
  assert.match(r.backendText, /sequential fallback — this browser has no Web Workers/);
  assert.equal(r.progress, '100 %');
  assert.deepEqual(r.lanes, [0]);
  assert.equal(r.result.length, 144 * 4);
});
