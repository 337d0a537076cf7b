// Memory in IndexedDB (issue 7 item 2), in real headless Chromium: entries survive a
// reload and a browser relaunch, only missing items run, corrupt entries are recomputed,
// a quota error keeps nothing of its write, and archives travel between the page and
// the native `weft cache export/import`.
// Needs: build/emscripten example_tasks (its ES module) and build/release weft and
// weft_map_file (scripts/test-wasm.sh builds the last and example_tasks; add `weft`).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { launch, repoRoot, screenshot, serve } from './harness.mjs';

const nativeBuild = join(repoRoot, process.env.WEFT_NATIVE_BUILD || 'build/release');
const weftTool = join(nativeBuild, 'native', 'cli', 'weft');
const mapFile = join(nativeBuild, 'tests', 'node', 'weft_map_file');
const module = join(repoRoot, process.env.WEFT_EMSCRIPTEN_BUILD || 'build/emscripten', 'examples', 'wasm-tasks', 'example_tasks.mjs');
for (const [f, how] of [[module, 'cmake --build --preset emscripten --target example_tasks'],
  [weftTool, 'cmake --build --preset release --target weft'], [mapFile, 'cmake --build --preset release --target weft_map_file']])
  if (!existsSync(f)) throw new Error(`${f} is missing: build it with ${how}`);

let server, browser, tmp;
const page = () => browser.page;
async function open() {
  await page().goto(`${server.url}/tests/browser/pages/memory.html`);
  await page().waitForFunction(() => window.ready === true);
}
const call = (fn, ...args) => page().evaluate(([fn, args]) => window.t[fn](...args), [fn, args]);
const seeds = (from, to) => BigUint64Array.from({ length: to - from }, (_, i) => BigInt(from + i) * 7919n + 1n);

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'weft-idb-'));
  server = await serve();
  browser = await launch({ profile: join(tmp, 'profile') });
  await open();
});
after(async () => {
  await browser?.close();
  await server?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

function native(args, input) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEFT_')));
  const r = spawnSync(args[0], args.slice(1), { env, encoding: 'utf8', input });
  if (r.status !== 0) assert.fail(`${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/** pi_darts natively over seeds [from, to) with a disk cache: {result, output (base64)}. */
function nativeMap(dir, from, to) {
  const inPath = join(tmp, 'in'), outPath = join(tmp, 'out');
  writeFileSync(inPath, new Uint8Array(seeds(from, to).buffer));
  const result = JSON.parse(native([mapFile, 'pi_darts', inPath, '8', '8', outPath, 'sequential', '1', dir]));
  return { result, output: readFileSync(outPath).toString('base64') };
}

test('the capability flag says IndexedDB is there', async () => {
  assert.ok((await call('features')).memory.includes('indexeddb'));
});

test('results survive a reload and a relaunch: all hits, identical', async () => {
  const first = await call('map', 'reload', 0, 40);
  assert.equal(first.misses, 40);
  assert.equal(first.hits, 0);
  await page().reload();
  await page().waitForFunction(() => window.ready === true);
  const again = await call('map', 'reload', 0, 40);
  assert.deepEqual([again.hits, again.misses, again.done], [40, 0, 40]);
  assert.equal(again.out, first.out);
  await browser.close(); // same profile: IndexedDB is on disk
  browser = await launch({ profile: join(tmp, 'profile'), removeProfile: false });
  await open();
  const relaunched = await call('map', 'reload', 0, 40);
  assert.deepEqual([relaunched.hits, relaunched.misses], [40, 0]);
  assert.equal(relaunched.out, first.out);
  await screenshot(page(), 'memory-relaunch');
});

test('a partial overlap computes only the missing items', async () => {
  await call('map', 'overlap', 0, 30);
  const r = await call('map', 'overlap', 20, 50); // 20..29 stored, 30..49 new
  assert.deepEqual([r.hits, r.misses, r.done], [10, 20, 30]);
  const fresh = await call('map', 'overlap-fresh', 20, 50);
  assert.equal(r.out, fresh.out);
});

test('stats and clear, per task and all', async () => {
  await call('map', 'stats', 0, 12);
  await call('bigPut', 'stats', 3, 100);
  let s = await call('stats', 'stats');
  assert.equal(s.entries, 15);
  assert.equal(s.tasks.pi_darts.entries, 12);
  assert.equal(s.tasks.big.bytes, 300);
  assert.ok(s.bytes > 12 * 8 + 300);
  await call('clear', 'stats', 'big');
  s = await call('stats', 'stats');
  assert.deepEqual([s.entries, Object.keys(s.tasks)], [12, ['pi_darts']]);
  await call('clear', 'stats');
  assert.equal((await call('stats', 'stats')).entries, 0);
  assert.equal((await call('map', 'stats', 0, 12)).misses, 12);
});

test('a corrupt entry is a miss: recomputed and replaced', async () => {
  const first = await call('map', 'corrupt', 0, 10);
  await call('corrupt', 'corrupt', 3, -1); // the value's last byte
  await call('corrupt', 'corrupt', 5, 20); // in the header (the key)
  const r = await call('map', 'corrupt', 0, 10);
  assert.deepEqual([r.hits, r.misses], [8, 2]);
  assert.equal(r.out, first.out);
  const again = await call('map', 'corrupt', 0, 10);
  assert.deepEqual([again.hits, again.misses], [10, 0]);
});

// Chromium's quota override (CDP Storage.overrideQuotaForOrigin) does not bind IndexedDB
// writes here, so the abort a quota error causes is made with a real tx.abort().
test('an aborted write (as on a quota error) stores nothing of it and says why', async () => {
  await call('bigPut', 'quota', 2, 10);
  const r = await call('abortedPut', 'quota', 5);
  assert.equal(r.error?.name, 'WeftError');
  assert.equal(r.error.code, 'WEFT_ESYS');
  assert.match(r.error.message, /storing 5 entries in the IndexedDB cache 'quota' failed, nothing of it was kept/);
  assert.match(r.quota, /nothing of it was kept: the browser's storage quota for this site is used up/);
  assert.equal((await call('stats', 'quota')).entries, 2); // the earlier write only
});

test('a native export imported into the page gives hits', async () => {
  const dir = join(tmp, 'native-cache'), file = join(tmp, 'native.wfa');
  const made = nativeMap(dir, 0, 25);
  assert.equal(made.result.misses, 25);
  native([weftTool, 'cache', 'export', dir, file]);
  const st = await call('import', 'from-native', readFileSync(file).toString('base64'));
  assert.deepEqual(st, { imported: 25, skipped: 0, corrupt: 0, stale: 0 });
  const r = await call('map', 'from-native', 0, 25);
  assert.deepEqual([r.hits, r.misses], [25, 0]);
  assert.equal(r.out, made.output);
  const bad = await call('importError', 'from-native', Buffer.from('not an archive at all').toString('base64'));
  assert.equal(bad.code, 'WEFT_ECORRUPT');
  assert.match(bad.message, /not a weft cache archive/);
});

test('an export from the page imported natively gives native hits', async () => {
  const r = await call('map', 'to-native', 0, 18);
  const file = join(tmp, 'page.wfa'), dir = join(tmp, 'from-page');
  writeFileSync(file, Buffer.from(await call('export', 'to-native'), 'base64'));
  native([weftTool, 'cache', 'import', dir, file]);
  const n = nativeMap(dir, 0, 18);
  assert.deepEqual(n.result, { rc: 0, hits: 18, misses: 0, stores: 0 });
  assert.equal(n.output, r.out);
});
