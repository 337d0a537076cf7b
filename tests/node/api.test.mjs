// The JavaScript API on both backends: results equal to the native build's, indices,
// iterators in both orders, reduce, errors, bad arguments, progress, cancellation, shared data.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bytes, loadTestModule, nativeMap } from './helpers.mjs';

let weft;
before(async () => { weft = await loadTestModule(); });
after(async () => { await weft?.close(); });

const mixIn = () => BigUint64Array.from({ length: 20000 }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn);
const rates = () => Float64Array.from({ length: 3000 }, (_, i) => 2.5 + 1.5 * i / 2999);

for (const backend of ['sequential', 'workers']) {
  describe(`backend ${backend}`, () => {
    const o = { backend, nJobs: 2 };

    test('map gives the native bytes (mix64, logistic, pi_darts) for several batch sizes', async t => {
      for (const [task, input] of [['mix64', mixIn()], ['logistic', rates()],
        ['pi_darts', BigUint64Array.from({ length: 300 }, (_, i) => BigInt(i))]]) {
        const native = nativeMap(t, task, input, 8, 8);
        for (const batchSize of [0, 1, 7, 5000]) {
          const out = await weft.map(task, input, { ...o, batchSize, out: Uint8Array, outSize: 8 });
          assert.ok(bytes(out).equals(native.output), `${task} batch ${batchSize}`);
        }
      }
    });

    test('weft_task_index is the index in the whole call, on every batch', async () => {
      const out = await weft.map('index_of', null, { ...o, n: 50000, outSize: 8, out: Float64Array });
      assert.equal(out.length, 50000);
      out.forEach((v, i) => { if (v !== i) assert.fail(`item ${i} saw index ${v}`); });
    });

    test('imap in input order and in completion order', async () => {
      const x = rates();
      const want = await weft.map('logistic', x, o);
      const seen = [];
      for await (const { index, value } of weft.imap('logistic', x, { ...o, batchSize: 5 })) {
        assert.equal(value[0], want[index]);
        seen.push(index);
      }
      assert.deepEqual(seen, [...want.keys()]);
      const any = new Set();
      for await (const { index, value } of weft.imap('logistic', x, { ...o, ordered: false })) {
        assert.equal(value.length, 1);
        assert.equal(value[0], want[index]);
        any.add(index);
      }
      assert.equal(any.size, x.length);
    });

    test('breaking out of imap stops the call; the pool still works', async () => {
      let k = 0;
      for await (const _ of weft.imap('logistic', rates(), { ...o, batchSize: 10 })) if (++k === 25) break;
      assert.equal(k, 25);
      const again = await weft.map('logistic', rates(), o);
      assert.equal(again.length, 3000);
    });

    test('reduce folds in input order: the same sum as folding the native outputs', async t => {
      const x = rates();
      const native = new Float64Array(nativeMap(t, 'logistic', x, 8, 8).output.buffer.slice(0));
      const want = native.reduce((a, v) => a + v, 0);
      for (const batchSize of [0, 3]) {
        const got = await weft.reduce('logistic', x, { ...o, batchSize, initial: 0, fold: (acc, v) => acc + v[0] });
        assert.equal(got, want);
      }
    });

    test('a failing task rejects with its index, code and message, like native', async t => {
      const x = Int32Array.from({ length: 100 }, (_, i) => i);
      const native = nativeMap(t, 'fail_at_13', x, 4, 4).result;
      for (const batchSize of [0, 1, 8]) {
        await assert.rejects(weft.map('fail_at_13', x, { ...o, batchSize }), e => {
          assert.equal(e.name, 'WeftError');
          assert.equal(e.code, native.error);
          assert.equal(e.index, native.index);
          assert.equal(e.message, native.message);
          assert.equal(e.task, 'fail_at_13');
          return true;
        });
      }
      // every item fails: on workers, whichever batch fails first is the one reported
      await assert.rejects(weft.map('wrong_size', new Float64Array(3), o), e =>
        e.code === 'WEFT_EOUTSIZE' && Number.isInteger(e.index) && e.index >= 0 && e.index < 3);
      await assert.rejects(async () => { for await (const _ of weft.imap('newton_sqrt', Float64Array.of(4, 9, -1, 16), o)); },
        { code: 'WEFT_ETASK', index: 2, message: 'sqrt of a negative number (-1)' });
    });

    test('a trap in a task rejects with WEFT_ECRASHED naming the item and task; the next call runs on a fresh instance', async () => {
      const crashed = weft.errors.find(e => e.name === 'WEFT_ECRASHED').errno;
      await assert.rejects(weft.map('trap_if_negative', Int32Array.of(1, 2, -1, 4), o), e => {
        assert.equal(e.name, 'WeftError');
        assert.deepEqual([e.code, e.errno, e.index, e.task], ['WEFT_ECRASHED', crashed, 2, 'trap_if_negative']);
        assert.match(e.message, /^task 'trap_if_negative' crashed (its worker|the module) while running item 2: unreachable/);
        return true;
      });
      assert.deepEqual([...await weft.map('trap_if_negative', Int32Array.of(5, 6, 7), o)], [5, 6, 7]);
    });

    test('progress reaches the total; a throwing callback fails the call', async () => {
      const seen = [];
      await weft.map('logistic', rates(), { ...o, batchSize: 100, onProgress: p => seen.push(p) });
      assert.equal(seen.length, 30);
      assert.equal(seen.at(-1).done, 3000);
      assert.ok(seen.every((p, i) => p.total === 3000 && (i === 0 || p.done > seen[i - 1].done)));
      await assert.rejects(weft.map('logistic', rates(), { ...o, onProgress: () => { throw new Error('stop here'); } }), /stop here/);
    });

    test('an AbortSignal cancels a running call promptly, and one aborted before starts nothing', async () => {
      const slow = new Float64Array(40).fill(50); // 40 tasks of 50 ms
      const ac = new AbortController();
      const t0 = performance.now();
      setTimeout(() => ac.abort(), 120);
      await assert.rejects(weft.map('spin_ms', slow, { ...o, batchSize: 1, signal: ac.signal }), { name: 'AbortError' });
      const ms = performance.now() - t0;
      assert.ok(ms < 600, `took ${ms} ms to cancel`);
      let ran = 0;
      await assert.rejects(weft.map('logistic', rates(), { ...o, signal: AbortSignal.abort(), onProgress: () => ran++ }), { name: 'AbortError' });
      assert.equal(ran, 0);
      const y = await weft.map('spin_ms', Float64Array.of(1, 1, 1), o); // the pool recovers
      assert.deepEqual([...y], [1, 1, 1]);
    });

    test('shared data reaches every task (sent once per worker)', async () => {
      const c = Float64Array.of(1, 2, 3); // 1 + 2x + 3x^2
      const x = Float64Array.from({ length: 1000 }, (_, i) => i / 10);
      const y = await weft.map('poly_shared', x, { ...o, shared: c, batchSize: 16 });
      y.forEach((v, i) => assert.equal(v, 1 + x[i] * (2 + x[i] * 3)));
      await assert.rejects(weft.map('poly_shared', x, o), { code: 'WEFT_ETASK', message: /needs `shared`/ });
      const z = await weft.map('poly_shared', x, { ...o, shared: Float64Array.of(5) });
      assert.ok(z.every(v => v === 5));
    });
  });
}

test('workers, batchSize 1: many batches per message; a trap deep in the stream; two calls at once', async () => {
  const o = { backend: 'workers', nJobs: 2, batchSize: 1 };
  const x = Int32Array.from({ length: 20000 }, (_, i) => i + 1);
  x[15000] = -1; // many bundles in, on whichever worker gets it
  await assert.rejects(weft.map('trap_if_negative', x, o), { code: 'WEFT_ECRASHED', index: 15000 });
  x[15000] = 7;
  // two calls with different tasks share the workers: one message may carry both
  const [a, b] = await Promise.all([weft.map('trap_if_negative', x, o),
    weft.map('index_of', null, { ...o, n: 20000, outSize: 8, out: Float64Array })]);
  assert.deepEqual(a, x);
  b.forEach((v, i) => { if (v !== i) assert.fail(`item ${i} saw index ${v}`); });
  const seen = [];
  for await (const { index, value } of weft.imap('trap_if_negative', x.subarray(0, 5000), o)) seen.push(value[0] === x[index]);
  assert.equal(seen.length, 5000);
  assert.ok(seen.every(Boolean));
});

test('empty calls and inputs given as ArrayBuffer, DataView and typed arrays of any type', async () => {
  assert.equal((await weft.map('logistic', new Float64Array(0))).length, 0);
  const x = Float64Array.of(3, 3.5);
  const want = await weft.map('logistic', x);
  for (const inputs of [x.buffer, new DataView(x.buffer), new Uint8Array(x.buffer)]) {
    const y = await weft.map('logistic', inputs, { inSize: 8, out: Float64Array });
    assert.deepEqual(y, want);
  }
  const sq = await weft.map('square', BigInt64Array.of(-3n, 4n, 3037000499n));
  assert.deepEqual(sq, BigInt64Array.of(9n, 16n, 9223372030926249001n));
});

test('bad arguments are TypeErrors or RangeErrors that say what is wrong', async () => {
  const x = new Float64Array(4);
  const cases = [
    [() => weft.map(42, x), TypeError, /task must be a non-empty string/],
    [() => weft.map('nope', x), RangeError, /no task named 'nope'.*logistic/],
    [() => weft.map('logistic', [1, 2]), TypeError, /an Array/],
    [() => weft.map('logistic', x, { inSize: 3 }), RangeError, /not a whole number of 3-byte items/],
    [() => weft.map('logistic', x, { nJobs: 0 }), RangeError, /nJobs/],
    [() => weft.map('logistic', x, { nJobs: 1.5 }), RangeError, /nJobs/],
    [() => weft.map('logistic', x, { backend: 'threads' }), RangeError, /backend must be/],
    [() => weft.map('logistic', x, { batchSize: -1 }), RangeError, /batchSize/],
    [() => weft.map('logistic', x, { outSize: 4 }), RangeError, /Float64Array elements/],
    [() => weft.map('logistic', x, { out: Array }), TypeError, /typed array constructor/],
    [() => weft.map('logistic', x, { signal: {} }), TypeError, /AbortSignal/],
    [() => weft.map('logistic', x, { onProgress: 1 }), TypeError, /onProgress/],
    [() => weft.map('logistic', x, { memory: '' }), TypeError, /memory/],
    [() => weft.map('logistic', x, { batchsize: 4 }), TypeError, /unknown option 'batchsize'/],
    [() => weft.map('index_of', null), RangeError, /give the item count n/],
    [() => weft.imap('logistic', x, { ordered: 'yes' }), TypeError, /ordered/],
    [() => weft.reduce('logistic', x, { initial: 0 }), TypeError, /fold/],
    [() => weft.reduce('logistic', x, { fold: (a) => a }), TypeError, /initial/],
  ];
  for (const [call, type, message] of cases) {
    let error;
    try { await call(); } catch (e) { error = e; }
    assert.ok(error instanceof type, `${call}: got ${error}`);
    assert.match(error.message, message);
  }
});

test('error codes come from the C table', () => {
  const names = weft.errors.map(e => e.name);
  assert.ok(names.includes('WEFT_ETASK') && names.includes('WEFT_ECRASHED'));
  assert.equal(weft.errors.find(e => e.name === 'WEFT_ETASK').errno, -5);
});
