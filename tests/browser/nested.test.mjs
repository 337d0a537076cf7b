// A nested map inside a Web Worker (wasm/js/nested.mjs, docs/nested.md) in real chromium:
// on a cross-origin isolated page (COOP/COEP) the pool's idle workers take chunks of it;
// on an ordinary page there is no SharedArrayBuffer and it runs on its own worker, and
// weft says so. The tasks are tests/node/js_tasks.c's (weft_test_tasks, web flavour):
// nest_outer maps nest_inner over m items, which report which worker ran them.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, repoRoot, screenshot, serve } from './harness.mjs';

const MODULE = 'build/emscripten/tests/node/weft_test_tasks';
const TIMEOUT = 120_000; // a loaded 2-core machine
let plain, isolated, browser;
before(async () => {
  assert.ok(existsSync(join(repoRoot, MODULE + '.mjs')), `${MODULE}.mjs is missing: run scripts/test-browser.sh (it builds it)`);
  plain = await serve(repoRoot);
  isolated = await serve(repoRoot, { isolated: true });
  browser = await launch();
});
after(async () => { await browser?.close(); await plain?.close(); await isolated?.close(); });

/** On a page of `server`: one outer task nesting 16 items of 20 ms on a pool of 4. */
async function nestInPage(server) {
  const { page } = browser;
  await page.goto(`${server.url}/tests/browser/fixtures/blank.html`);
  return page.evaluate(async module => {
    const { load } = await import('/wasm/js/browser/load.mjs');
    const weft = await load({ moduleUrl: module });
    await weft.pool.slots(4);
    const OUT = 3 + 2 * 32, m = 16;
    const out = await weft.map('nest_outer', Float64Array.of(m, 20, -1, 5, -1), { inSize: 40, outSize: OUT * 8, out: Float64Array, nJobs: 4 });
    const failed = await weft.map('nest_outer', Float64Array.of(m, 2, 9, 0, -1), { inSize: 40, outSize: OUT * 8, out: Float64Array, nJobs: 4 });
    const values = [], threads = [];
    for (let j = 0; j < m; j++) values.push(out[3 + 2 * j]), threads.push(out[4 + 2 * j]);
    await weft.close();
    return { rc: out[0], values, threads, opener: out[2], failed: [failed[0], failed[1]], isolated: crossOriginIsolated,
      features: weft.features, reason: weft.nestedReason };
  }, `/${MODULE}.mjs`);
}

const squares = Array.from({ length: 16 }, (_, j) => (5 + j) ** 2);

test('a cross-origin isolated page: idle Web Workers take chunks of a nested map', { timeout: TIMEOUT }, async () => {
  browser.errors.length = 0;
  const r = await nestInPage(isolated);
  assert.equal(r.isolated, true);
  assert.equal(r.features.borrowIdleWorkers, true);
  assert.equal(r.rc, 0);
  assert.deepEqual(r.values, squares);
  const ran = new Set(r.threads);
  assert.ok(!ran.has(0), 'no item on the page\'s thread');
  assert.ok(ran.size >= 2, `the 16 items ran on ${ran.size} worker(s)`);
  assert.equal(r.failed[1], 9, 'a failing nested item is named by its index');
  assert.deepEqual(browser.errors, []);
  await screenshot(browser.page, 'nested-isolated');
});

test('an ordinary page: a nested map runs on its own worker, and weft says why', { timeout: TIMEOUT }, async () => {
  browser.errors.length = 0;
  const r = await nestInPage(plain);
  assert.equal(r.isolated, false);
  assert.equal(r.features.borrowIdleWorkers, false);
  assert.match(r.reason, /cross-origin isolation/);
  assert.equal(r.rc, 0);
  assert.deepEqual(r.values, squares);
  assert.deepEqual(new Set(r.threads), new Set([r.opener]), 'every item on the opening worker');
  assert.equal(r.failed[1], 9);
  assert.deepEqual(browser.errors, []);
});
