// The demo page (web/) in real chromium: it loads without console errors, runs the SIR
// sweep on >= 2 workers with the sequential backend's (and Node's) results, the progress
// bar reaches 100 %, a reload is served from IndexedDB and shows it, a failing point shows
// its index and message, and without Worker the page falls back to the sequential backend
// and says so; the timeline is the run's trace, which "download trace" saves as a valid
// trace file. Screenshots: build/browser-artifacts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifactsDir, repoRoot, screenshot, useBrowser } from './harness.mjs';
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
    elapsedText: document.getElementById('elapsed').textContent,
    timelineText: document.getElementById('timeline').textContent,
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
  // and says so, instead of an empty timeline and a bare "0 ms"
  assert.equal(again.fromCache, true);
  assert.match(again.elapsedText, /^\d+ ms, all read from the cache$/);
  assert.match(again.timelineText, /All 144 results were read from the IndexedDB cache: no task ran/);
  assert.deepEqual(again.result, par.result);

  const seq = await openDemo(`${SIZE}&backend=sequential&cache=0`);
  assert.deepEqual(seq.lanes, [0], 'the sequential run is on the page\'s thread');
  assert.deepEqual(seq.result, par.result);

  const node = await loadNode({ module: join(repoRoot, MODULE) });
  const want = await node.map('simulate_sir', sweepInputs({ grid: 12, replicates: 10 }),
    { inSize: 32, outSize: 32, out: Float64Array, backend: 'sequential' });
  assert.deepEqual(par.result, [...want]);
});

test('the timeline is drawn from the trace, and "download trace" saves it as a valid trace', { timeout: TIMEOUT }, async () => {
  const r = await openDemo(`${SIZE}&jobs=2&cache=0`);
  const { page } = env.browser;
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-trace')]);
  assert.equal(download.suggestedFilename(), 'weft-trace.json');
  const file = join(artifactsDir, 'demo-trace.json');
  await mkdir(artifactsDir, { recursive: true });
  await download.saveAs(file);
  const saved = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(saved, r.trace, 'the file is the run\'s trace');
  // the same checks as native traces: schema, named tracks, nesting, counters
  const check = spawnSync('/usr/bin/python3', [join(repoRoot, 'tests/c/check_trace.py'), file, '--workers', '2'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const batches = saved.traceEvents.filter(e => e.ph === 'X' && e.cat === 'batch');
  assert.equal(batches.reduce((s, b) => s + b.args.end - b.args.begin, 0), 144, 'every point in one batch');
  assert.deepEqual(r.lanes, [...new Set(batches.map(b => b.tid))].sort((a, b) => a - b), 'one lane per track');
  assert.equal(r.blocks, batches.length, 'one block per batch slice');
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

test('/web without its slash leads to the page', { timeout: TIMEOUT }, async () => {
  const r = await fetch(`${env.server.url}/web?grid=4`, { redirect: 'manual' });
  assert.equal(r.status, 301);
  assert.equal(r.headers.get('location'), '/web/?grid=4');
  const { page } = env.browser;
  await page.goto(`${env.server.url}/web?${SIZE}&autorun=0`);
  await page.waitForFunction(() => window.demo?.done === true, null, { timeout: TIMEOUT });
  assert.equal(new URL(page.url()).pathname, '/web/');
});

/** What a reader sees of the layout: overflow, margins, overlaps, the legend, placeholders. */
function layout() {
  const box = el => el.getBoundingClientRect();
  const visible = el => !!el && !el.hidden && box(el).width > 0 && box(el).height > 0;
  const overlaps = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const lanes = [...document.querySelectorAll('#timeline .lane')];
  const labelOverBlock = lanes.some(l => [...l.querySelectorAll('.batch')].some(b => overlaps(box(l.querySelector('.label')), box(b))));
  const axes = ['.axis-y', '.axis-x'].map(q => document.querySelector(q));
  const map = box(document.getElementById('heatmap'));
  const content = [...document.querySelectorAll('h1, #controls, .bar, #panels figure')].map(box);
  return {
    width: innerWidth,
    scrollWidth: document.documentElement.scrollWidth,
    minLeft: Math.min(...content.map(r => r.left)),
    maxRight: Math.max(...content.map(r => r.right)),
    legend: visible(document.querySelector('.legend .ramp')),
    axesOffMap: axes.every(a => visible(a) && !overlaps(box(a), map)),
    labelOverBlock,
    placeholders: [...document.querySelectorAll('.placeholder')].filter(visible).map(p => p.textContent.trim()),
  };
}

for (const [w, h] of [[390, 844], [1280, 800]]) {
  test(`the page at ${w}x${h}: before a run, after one; margins, legend, no overlaps`, { timeout: TIMEOUT }, async () => {
    const { page } = env.browser;
    await page.setViewportSize({ width: w, height: h });
    try {
      await openDemo(`${SIZE}&jobs=2&cache=0&autorun=0`);
      await screenshot(page, `demo-${w}x${h}-before-run`);
      const before = await page.evaluate(layout);
      assert.ok(before.placeholders.some(t => /No results yet/.test(t)), `placeholders: ${before.placeholders}`);
      assert.ok(before.placeholders.some(t => /No batches yet/.test(t)));

      const r = await openDemo(`${SIZE}&jobs=2&cache=0`);
      assert.equal(r.error, null);
      await screenshot(page, `demo-${w}x${h}`);
      const after = await page.evaluate(layout);
      for (const l of [before, after]) {
        assert.ok(l.scrollWidth <= l.width, `no sideways scrolling: ${l.scrollWidth} > ${l.width}`);
        assert.ok(l.minLeft >= 12 && l.maxRight <= l.width - 12, `margins: ${l.minLeft} .. ${l.maxRight} of ${l.width}`);
        assert.ok(l.legend, 'the heatmap has a colour legend');
        assert.ok(l.axesOffMap, 'axis labels beside the map, not on it');
      }
      assert.equal(after.labelOverBlock, false, 'lane labels never cover batches');
      assert.deepEqual(after.placeholders, []);
    } finally {
      await page.setViewportSize({ width: 1280, height: 720 });
    }
  });
}
