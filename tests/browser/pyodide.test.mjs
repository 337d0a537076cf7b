// The Pyodide page (web/pyodide.html): weft's Python package on Pyodide in headless
// chromium sweeps simulate_sir on Web Workers. Checks: >= 2 worker lanes, the results of
// the native library (the same package on CPython, build/release), a task failure seen
// from Python as weft.TaskError with its index, a reload served from IndexedDB, and
// archives both ways with the native weft tool (Memory.export_async / import_async). Then
// the Python suite's portable part and the blocking forms through JSPI in the page
// (tests/browser/pages/pyodide-suite.html).
// scripts/test-pyodide.sh builds what it needs (web_tasks, the wheel, libweft.so).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { artifactsDir, repoRoot, screenshot, useBrowser } from './harness.mjs';

const TIMEOUT = 240_000; // Pyodide's start on a loaded 2-core machine
const GRID = 8, REPS = 10, N = GRID * GRID;
const env = useBrowser('build/emscripten/web/web_tasks');

async function openPage(query) {
  const { page } = env.browser;
  env.browser.errors.length = 0;
  // workers start beside Pyodide's own start: give them time on a loaded machine
  await page.goto(`${env.server.url}/web/pyodide.html?grid=${GRID}&reps=${REPS}&worker_start_ms=${TIMEOUT / 2}&${query}`);
  await page.waitForFunction(() => window.pyDemo?.done === true, null, { timeout: TIMEOUT });
  return page.evaluate(() => ({
    ...window.pyDemo,
    progress: document.getElementById('progress-text').textContent,
    bar: document.getElementById('progress-fill').style.width,
    shown: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
  }));
}

/** The same sweep through the native library: the package on CPython (build/release). */
function nativeSweep() {
  const build = join(repoRoot, 'build/release');
  assert.ok(existsSync(join(build, 'libweft.so')), 'build/release/libweft.so: run scripts/test-pyodide.sh');
  const code = `
import json, struct, sys
sys.path.insert(0, ${JSON.stringify(join(repoRoot, 'python'))})
import weft
weft.load_examples()
grid, reps = ${GRID}, ${REPS}
pts = b"".join(struct.pack("<ddQi4x", 0.05 + 0.55 * (i // grid) / max(1, grid - 1),
    0.05 + 0.45 * (i % grid) / max(1, grid - 1), (i + 1) * 0x9E3779B97F4A7C15 % 2**64, reps)
    for i in range(grid * grid))
out = weft.map("simulate_sir", pts, item_size=32, out_size=32, backend="threads", n_jobs=2)
print(json.dumps(list(struct.unpack(f"<{4 * grid * grid}d", out))))`;
  const out = execFileSync('/usr/bin/python3', ['-c', code], { env: { ...process.env, WEFT_LIBRARY: build } });
  return JSON.parse(out);
}

test('Python on Pyodide sweeps a C task on >= 2 workers; a reload is served from IndexedDB', { timeout: 3 * TIMEOUT }, async () => {
  const first = await openPage('jobs=2');
  await screenshot(env.browser.page, 'pyodide-workers');
  assert.equal(first.error ?? null, null, JSON.stringify(first.error));
  assert.deepEqual(env.browser.errors, [], 'no console errors');
  assert.ok(first.workers.length >= 2 && first.workers.every(w => w >= 1), `worker lanes: ${first.workers}`);
  assert.equal(first.progress, '100 %');
  assert.equal(first.bar, '100%');
  assert.deepEqual([first.hits, first.misses], [0, N], 'a fresh profile: every point computed');
  assert.deepEqual(first.result, nativeSweep(), 'the native library\'s results');

  const again = await openPage('jobs=2');
  await screenshot(env.browser.page, 'pyodide-reload-from-cache');
  assert.equal(again.error ?? null, null);
  assert.deepEqual([again.hits, again.misses], [N, 0], 'served from IndexedDB');
  assert.equal(again.progress, '100 %');
  assert.deepEqual(again.result, first.result);
});

test('a failing task is a weft.TaskError in Python, with its index', { timeout: TIMEOUT }, async () => {
  const r = await openPage('jobs=2&fail=1&cache=0');
  await screenshot(env.browser.page, 'pyodide-task-error');
  assert.equal(r.error.type, 'TaskError');
  assert.equal(r.error.index, N / 2);
  assert.equal(r.error.task, 'simulate_sir');
  assert.equal(r.error.code, 'WEFT_ETASK');
  assert.match(r.shown, new RegExp(`item ${N / 2} of simulate_sir failed`));
});

test('archives: the page\'s export is read by the native weft tool; its export imported in the page gives hits', { timeout: 2 * TIMEOUT }, async () => {
  const tool = join(repoRoot, 'build/release/native/cli/weft');
  assert.ok(existsSync(tool), `${tool}: run scripts/test-pyodide.sh`);
  const tmp = mkdtempSync(join(tmpdir(), 'weft-pyodide-archive-'));
  try {
    const made = await openPage('jobs=2&db=to-native&export=1');
    assert.equal(made.error ?? null, null, JSON.stringify(made.error));
    assert.deepEqual([made.hits, made.misses], [0, N]);
    const dir = join(tmp, 'native'), fromPage = join(tmp, 'page.wfa');
    writeFileSync(fromPage, Buffer.from(made.archive, 'base64'));
    execFileSync(tool, ['cache', 'import', dir, fromPage]);
    assert.match(execFileSync(tool, ['cache', 'stats', dir]).toString(), new RegExp(`^simulate_sir\\s+${N}\\s`, 'm'));
    mkdirSync(artifactsDir, { recursive: true });
    const nativeArchive = join(artifactsDir, 'pyodide-native.wfa');
    execFileSync(tool, ['cache', 'export', dir, nativeArchive]);
    const served = await openPage(`jobs=2&db=from-native&archive=/build/browser-artifacts/pyodide-native.wfa`);
    assert.equal(served.error ?? null, null, JSON.stringify(served.error));
    assert.deepEqual(served.imported, { imported: N, skipped: 0, corrupt: 0, stale: 0 });
    assert.deepEqual([served.hits, served.misses], [N, 0], 'every point from the native archive');
    assert.deepEqual(served.result, made.result);
    assert.ok(readFileSync(nativeArchive).length > 0);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the portable suite and the blocking forms (weft.map through JSPI) pass in chromium', { timeout: TIMEOUT }, async () => {
  const { page } = env.browser;
  env.browser.errors.length = 0;
  await page.goto(`${env.server.url}/tests/browser/pages/pyodide-suite.html`);
  await page.waitForFunction(() => window.suite?.done === true, null, { timeout: TIMEOUT });
  const r = await page.evaluate(() => window.suite);
  const log = r.lines.join('\n');
  assert.equal(r.error, null, `${r.error}\n${log}`);
  assert.equal(r.jspi, true, 'chromium runs Python with JSPI (can_run_sync)');
  assert.equal(r.failed, 0, log);
  for (const name of ['test_portable::test_map_into_buffers_bit_for_bit', 'test_blocking::test_blocking_map_equals_map_async',
    'test_blocking::test_blocking_map_reports_progress_and_errors', 'test_blocking::test_blocking_imap_and_reduce'])
    assert.ok(r.lines.some(l => l.startsWith(`ok   ${name} `)), `${name} passed:\n${log}`);
  const portable = readFileSync(join(repoRoot, 'tests/python/test_portable.py'), 'utf8').match(/^(async )?def test_/gm).length;
  assert.equal(r.lines.filter(l => /^ok   test_portable::/.test(l)).length, portable - 1, 'every portable test but numpy\'s passed');
  assert.equal(r.skipped, 2, 'only the no-JSPI error test and the numpy test skip');
});
