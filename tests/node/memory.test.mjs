// Memory in Node: the Node build caches on the real file system with the native keys and
// entry format, so a cache written by either build is hit by the other, on both backends.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
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

test('a cache path under a regular file, or a file, says "Not a directory"', async t => {
  const file = join(tempDir(t), 'notes.txt');
  writeFileSync(file, 'mine');
  for (const memory of [join(file, 'cache'), file])
    await assert.rejects(weft.map('pi_darts', seeds(4), { backend: 'sequential', out: Uint8Array, outSize: 8, memory }),
      e => e.code === 'WEFT_ESYS' && /Not a directory/.test(e.message) && !/File exists/.test(e.message));
});
