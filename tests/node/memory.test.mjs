// Memory in Node: the Node build caches on the real file system with the native keys and
// entry format, so a cache written by either build is hit by the other, on both backends.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { bytes, loadTestModule, nativeMap, tempDir } from './helpers.mjs';

let weft;
before(async () => { weft = await loadTestModule(); });
after(async () => { await weft?.close(); });

const seeds = n => BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 7919n + 1n);

async function cachedMap(task, input, options) {
  let last = null;
  const out = await weft.map(task, input, { ...options, out: Uint8Array, outSize: 8, onProgress: p => { last = p; } });
  return { out, hits: last.hits, misses: last.misses };
}

test('a cache written natively is hit by Node, on both backends', async t => {
  const dir = join(tempDir(t), 'cache');
  const input = seeds(200);
  const native = nativeMap(t, 'pi_darts', input, 8, 8, ['threads', '2', dir]);
  assert.deepEqual(native.result, { rc: 0, hits: 0, misses: 200, stores: 200 });
  assert.ok(existsSync(join(dir, 'CACHEDIR.TAG')) && existsSync(join(dir, 'pi_darts')));
  for (const backend of ['sequential', 'workers']) {
    const r = await cachedMap('pi_darts', input, { backend, nJobs: 2, memory: dir });
    assert.equal(r.hits, 200, backend);
    assert.equal(r.misses, 0, backend);
    assert.ok(bytes(r.out).equals(native.output), backend);
  }
});

test('a cache written by Node is hit natively; only new items are computed', async t => {
  const dir = join(tempDir(t), 'cache');
  const input = seeds(300);
  const first = await cachedMap('pi_darts', input.subarray(0, 150), { backend: 'workers', nJobs: 2, memory: dir });
  assert.equal(first.misses, 150);
  const second = await cachedMap('pi_darts', input, { backend: 'sequential', memory: dir });
  assert.equal(second.hits, 150);
  assert.equal(second.misses, 150);
  const native = nativeMap(t, 'pi_darts', input, 8, 8, ['sequential', '1', dir]);
  assert.deepEqual(native.result, { rc: 0, hits: 300, misses: 0, stores: 0 });
  assert.ok(bytes(second.out).equals(native.output));
});

test('a failing task stores nothing and reports its index; a foreign folder is refused', async t => {
  const dir = join(tempDir(t), 'cache');
  const x = Int32Array.from({ length: 30 }, (_, i) => i);
  await assert.rejects(weft.map('fail_at_13', x, { backend: 'sequential', memory: dir }), { code: 'WEFT_ETASK', index: 13 });
  const native = nativeMap(t, 'fail_at_13', x.subarray(0, 13), 4, 4, ['sequential', '1', dir]);
  assert.equal(native.result.hits, 13); // items before the failure were stored
  const foreign = tempDir(t);
  writeFileSync(join(foreign, 'notes.txt'), 'not a cache');
  for (const backend of ['sequential', 'workers'])
    await assert.rejects(weft.map('pi_darts', seeds(2), { backend, memory: foreign }), { code: 'WEFT_EFOREIGN', index: -1 });
});

test('Memory sits above dispatch: hits reach no worker, misses keep their indexes', async t => {
  const dir = join(tempDir(t), 'cache');
  const input = seeds(400);
  for (const backend of ['sequential', 'workers']) {
    const sub = join(dir, backend);
    const dispatched = () => { let items = 0; return { onBatch: b => { items += b.count; }, get items() { return items; } }; };
    const first = dispatched();
    await weft.map('pi_darts', input.subarray(0, 200), { backend, nJobs: 2, memory: sub, onBatch: first.onBatch });
    assert.equal(first.items, 200, backend);
    // every item a hit: no batch is dispatched at all
    const again = dispatched();
    const hit = await cachedMap('pi_darts', input.subarray(0, 200), { backend, nJobs: 2, memory: sub, onBatch: again.onBatch });
    assert.equal(again.items, 0, backend);
    assert.equal(hit.hits, 200, backend);
    // half new: only those are dispatched
    const half = dispatched();
    const r = await cachedMap('pi_darts', input.subarray(100, 300), { backend, nJobs: 2, memory: sub, onBatch: half.onBatch });
    assert.equal(half.items, 100, backend);
    assert.deepEqual([r.hits, r.misses], [100, 100], backend);
    const plain = await weft.map('pi_darts', input.subarray(100, 300), { backend, out: Uint8Array, outSize: 8 });
    assert.ok(bytes(r.out).equals(bytes(plain)), backend);
  }
});

test('a failing item after cached ones is named by its index in the call', async t => {
  const dir = join(tempDir(t), 'cache');
  const x = Int32Array.from({ length: 30 }, (_, i) => i);
  for (const backend of ['sequential', 'workers']) {
    const sub = join(dir, backend);
    await weft.map('fail_at_13', x.subarray(0, 10), { backend, nJobs: 2, memory: sub });
    await assert.rejects(weft.map('fail_at_13', x, { backend, nJobs: 2, memory: sub }), { code: 'WEFT_ETASK', index: 13 }, backend);
  }
});

test('a cache path under a regular file, or a file, says "Not a directory"', async t => {
  const file = join(tempDir(t), 'notes.txt');
  writeFileSync(file, 'mine');
  for (const memory of [join(file, 'cache'), file])
    await assert.rejects(weft.map('pi_darts', seeds(4), { backend: 'sequential', out: Uint8Array, outSize: 8, memory }),
      e => e.code === 'WEFT_ESYS' && /Not a directory/.test(e.message) && !/File exists/.test(e.message));
});

test('a packed cache folder (native only) is refused by name, not missed silently', async t => {
  const dir = join(tempDir(t), 'packed');
  mkdirSync(dir);
  writeFileSync(join(dir, 'CACHEDIR.TAG'), 'Signature: 8a477f597d28d172789f06886806bc55\n' +
    '# This folder is a weft cache (entry format 1, packed store: weft.db): see docs/cache-format.md.\n');
  await assert.rejects(weft.map('pi_darts', seeds(2), { backend: 'sequential', out: Uint8Array, outSize: 8, memory: dir }),
    e => e.code === 'WEFT_EFOREIGN' && /packed weft cache/.test(e.message) && /WEFT_CACHE_STORE=file/.test(e.message));
});
