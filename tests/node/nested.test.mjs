// A nested map inside a Node worker (wasm/js/nested.mjs, docs/nested.md): it runs on its
// own worker unless the pool has idle workers, which then take chunks of its items. The
// tasks (tests/node/js_tasks.c): nest_outer maps nest_inner (sleeps, then x * x and the
// JS thread that ran it) over m items and returns the map's rc, the failing index, its own
// thread and each item's output. Borrowing is seen in how many distinct worker threads ran
// a map's items, not in timings (the wall times are printed as diagnostics only).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { requireFile, root, tempDir, testModule } from './helpers.mjs';

const OUT = 3 + 2 * 32; // nest_outer's output: doubles
let load, WeftTrace, weft;
before(async () => {
  requireFile(testModule + '.node.cjs', 'cmake --build --preset emscripten --target weft_test_tasks');
  ({ load, WeftTrace } = await import(join(root, 'wasm', 'js', 'index.mjs')));
  weft = await load({ module: testModule });
});
after(async () => { await weft?.close(); });

/** outer items {m, ms, failAt, base, bad} -> per item {rc, failed, thread, values, threads} */
async function nest(w, outers, options) {
  const input = Float64Array.from(outers.flatMap(o => [o.m, o.ms, o.failAt ?? -1, o.base ?? 0, o.bad ?? -1]));
  const out = await w.map('nest_outer', input, { inSize: 40, outSize: OUT * 8, out: Float64Array, ...options });
  return outers.map((o, i) => {
    const r = out.subarray(i * OUT, (i + 1) * OUT);
    const values = [], threads = [];
    for (let j = 0; j < o.m; j++) values.push(r[3 + 2 * j]), threads.push(r[4 + 2 * j]);
    return { rc: r[0], failed: r[1], thread: r[2], values, threads };
  });
}

const squares = (m, base = 0, failAt = -1) =>
  Array.from({ length: m }, (_, j) => (j === failAt ? 0 : (base + j) ** 2));

test('a nested map inside a busy worker borrows the idle workers; results right', async t => {
  await weft.pool.slots(4); // four started workers, three of them idle during the call
  const t0 = performance.now();
  const [r] = await nest(weft, [{ m: 16, ms: 40, base: 3 }], { nJobs: 4 });
  const borrowed = performance.now() - t0;
  assert.equal(r.rc, 0);
  assert.deepEqual(r.values, squares(16, 3));
  const ran = new Set(r.threads);
  assert.ok(!ran.has(0), 'no item on the main thread');
  assert.ok(ran.has(r.thread), 'the opening worker runs items too');
  assert.ok(ran.size >= 2, `the 16 items ran on ${ran.size} worker(s): ${[...ran]}`);

  // borrowing switched off: the same call keeps every item on the opening worker
  const alone = await load({ module: testModule, borrowIdleWorkers: false });
  t.after(() => alone.close());
  assert.equal(alone.features.borrowIdleWorkers, false);
  await alone.pool.slots(4);
  const t1 = performance.now();
  const [s] = await nest(alone, [{ m: 16, ms: 40, base: 3 }], { nJobs: 4 });
  const kept = performance.now() - t1;
  assert.deepEqual(s.values, squares(16, 3));
  assert.deepEqual(new Set(s.threads), new Set([s.thread]), 'without borrowing, one worker runs them all');
  t.diagnostic(`16 nested items of 40 ms: ${ran.size} workers in ${borrowed.toFixed(0)} ms; ` +
    `1 worker in ${kept.toFixed(0)} ms (load ${(await import('node:os')).loadavg()[0].toFixed(2)})`);
});

test('a nested map shorter than sharing costs stays on its worker', async () => {
  await weft.pool.slots(4);
  const rs = await nest(weft, [{ m: 4, ms: 0, base: 7 }, { m: 4, ms: 0, base: 8 }], { nJobs: 4, batchSize: 1 });
  for (const [i, r] of rs.entries()) {
    assert.deepEqual(r.values, squares(4, 7 + i));
    assert.deepEqual(new Set(r.threads), new Set([r.thread]), '4 items of ~0 ms: not worth a message');
  }
});

test('a failing nested item is reported with its index, wherever it ran', async () => {
  await weft.pool.slots(4);
  for (const failAt of [0, 5, 11, 15]) {
    const [r] = await nest(weft, [{ m: 16, ms: 5, failAt }], { nJobs: 4 });
    assert.equal(r.rc, weft.errors.find(e => e.name === 'WEFT_ETASK').errno, `failAt ${failAt}`);
    assert.equal(r.failed, failAt, `the nested map names item ${failAt}`);
  }
  // the pool still works afterwards, borrowing included
  const [r] = await nest(weft, [{ m: 8, ms: 20, base: 1 }], { nJobs: 4 });
  assert.equal(r.rc, 0);
  assert.deepEqual(r.values, squares(8, 1));
});

test('a nested item that traps: a clear WEFT_ECRASHED, no hang, and the pool goes on', { timeout: 120000 }, async () => {
  await weft.pool.slots(4);
  const crashed = weft.errors.find(e => e.name === 'WEFT_ECRASHED').errno;
  for (const failAt of [3, 14]) {
    try {
      // on a helper: the nested map fails with the item's index, the helper is replaced
      const [r] = await nest(weft, [{ m: 16, ms: 10, failAt, bad: -2 }], { nJobs: 4 });
      assert.equal(r.rc, crashed);
      assert.equal(r.failed, failAt);
    } catch (e) {
      // on the opening worker: the outer call crashes, as any trap there does
      assert.equal(e.code, 'WEFT_ECRASHED', String(e));
      assert.match(e.message, /nest_outer/);
    }
  }
  const [r] = await nest(weft, [{ m: 16, ms: 5, base: 2 }], { nJobs: 4 });
  assert.deepEqual(r.values, squares(16, 2));
});

test('a helper stopped in the middle of an item: the nested map fails, the opener does not hang', { timeout: 120000 }, async () => {
  await weft.pool.slots(4);
  const crashed = weft.errors.find(e => e.name === 'WEFT_ECRASHED').errno;
  const call = nest(weft, [{ m: 8, ms: 400 }], { nJobs: 4 });
  let job;
  for (let i = 0; i < 200 && !(job = [...weft.pool.nested.jobs].find(j => j.helpers.size)); i++)
    await new Promise(r => setTimeout(r, 10));
  assert.ok(job, 'the nested map was shared');
  await new Promise(r => setTimeout(r, 150)); // the helpers are inside their first items
  const [helper] = job.helpers;
  await helper.stop(new Error('stopped by the test'));
  const [r] = await call;
  assert.equal(r.rc, crashed, 'the items the stopped helper held never finished');
  assert.ok(r.failed >= 0 && r.failed < 8, `names an item: ${r.failed}`);
  const [again] = await nest(weft, [{ m: 8, ms: 5, base: 4 }], { nJobs: 4 });
  assert.deepEqual(again.values, squares(8, 4), 'the pool starts a fresh worker and goes on');
});

test('every worker runs an outer task that nests: no deadlock, results right', { timeout: 120000 }, async () => {
  const outers = Array.from({ length: 12 }, (_, i) => ({ m: 12, ms: 10, base: i * 100 }));
  const rs = await nest(weft, outers, { nJobs: 4, batchSize: 1 });
  rs.forEach((r, i) => {
    assert.equal(r.rc, 0, `outer ${i}`);
    assert.deepEqual(r.values, squares(12, i * 100), `outer ${i}`);
    assert.ok(!r.threads.includes(0));
  });
  // more workers busy than idle ones: each of 3 outer tasks on 4 workers shares its map
  const few = await nest(weft, outers.slice(0, 3), { nJobs: 4, batchSize: 1 });
  few.forEach((r, i) => assert.deepEqual(r.values, squares(12, i * 100), `outer ${i}`));
});

test('nested maps inside workers are in the trace: nested slices, flows, the helpers\' tracks', async t => {
  await weft.pool.slots(4);
  const trace = new WeftTrace();
  const rs = await nest(weft, [{ m: 16, ms: 20, base: 1 }, { m: 16, ms: 20, base: 2 }], { nJobs: 4, trace, batchSize: 1 });
  for (const [i, r] of rs.entries()) assert.deepEqual(r.values, squares(16, i + 1));
  const doc = trace.toJSON();
  const file = join(tempDir(t), 'nested.json');
  writeFileSync(file, JSON.stringify(doc));
  const check = spawnSync('/usr/bin/python3', [join(root, 'tests', 'c', 'check_trace.py'), file, '--workers', '4', '--nested', '1'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const ev = doc.traceEvents;
  const nested = ev.filter(e => e.ph === 'X' && e.cat === 'call' && e.args.level === 1);
  assert.equal(nested.length, 2, 'one nested call per outer item');
  for (const c of nested) {
    const batches = ev.filter(e => e.ph === 'X' && e.cat === 'batch' && e.args.call === c.args.call);
    assert.equal(batches.reduce((s, b) => s + b.args.end - b.args.begin, 0), 16, 'its chunks cover its items');
  }
  const tracks = new Set(ev.filter(e => e.ph === 'X' && e.cat === 'batch' && e.args.level === 1).map(e => e.tid));
  assert.ok(tracks.size >= 2, `nested chunks on ${tracks.size} worker track(s)`);
  assert.equal(ev.filter(e => e.ph === 's').length, ev.filter(e => e.ph === 'X' && e.cat === 'batch' && e.args.level === 1).length);
});

test('three levels of nested maps are all in the trace, inside the items that opened them', async t => {
  await weft.pool.slots(4);
  const trace = new WeftTrace();
  // 2 outer items -> 4 nest_outer items each -> 6 nest_inner items of 10 ms each
  const [m, m2, ms] = [4, 6, 10];
  const out = await weft.map('nest_deep', Float64Array.from([m, m2, ms, m, m2, ms]), { inSize: 24, outSize: 16, out: Float64Array, nJobs: 4, trace, batchSize: 1 });
  let sum = 0;
  for (let j = 0; j < m; j++) for (let k = 0; k < m2; k++) sum += (100 * j + k) ** 2;
  assert.deepEqual([...out], [0, sum, 0, sum]);
  const doc = trace.toJSON();
  const file = join(tempDir(t), 'deep.json');
  writeFileSync(file, JSON.stringify(doc));
  const check = spawnSync('/usr/bin/python3', [join(root, 'tests', 'c', 'check_trace.py'), file, '--workers', '4', '--nested', '2'], { encoding: 'utf8' });
  assert.equal(check.status, 0, check.stdout + check.stderr);
  const ev = doc.traceEvents, calls = ev.filter(e => e.ph === 'X' && e.cat === 'call');
  const byId = new Map(calls.map(c => [c.args.call, c]));
  const at = level => calls.filter(c => c.args.level === level);
  assert.equal(at(1).length, 2, 'one level-1 map per outer item');
  assert.equal(at(2).length, 2 * m, 'one level-2 map per level-1 item, wherever it ran');
  for (const c of at(2)) {
    assert.equal(byId.get(c.args.parent)?.args.level, 1, 'its parent is a level-1 map');
    const batches = ev.filter(e => e.ph === 'X' && e.cat === 'batch' && e.args.call === c.args.call);
    assert.equal(batches.reduce((s, b) => s + b.args.end - b.args.begin, 0), m2, 'its chunks cover its items');
  }
  assert.deepEqual(new Set(at(2).map(c => c.args.opened_by)), new Set([0, 1, 2, 3]));
  t.diagnostic(`level-2 maps on tracks ${[...new Set(at(2).map(c => c.tid))]}`);
});

test('load: borrowIdleWorkers must be a boolean', async () => {
  await assert.rejects(load({ module: testModule, borrowIdleWorkers: 'no' }), /borrowIdleWorkers must be true or false/);
  assert.equal(weft.features.borrowIdleWorkers, true);
});
