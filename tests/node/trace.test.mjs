// options.trace in JS: a WeftTrace or a file path records the call in the C library's
// trace format; tests/c/check_trace.py checks it as it checks native traces (schema, one
// named track per worker, nesting, counters, cache instants), and `weft trace summary`
// reads it when the native tool is built.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadTestModule, nativeBuild, root, tempDir } from './helpers.mjs';

let weft, WeftTrace;
before(async () => {
  weft = await loadTestModule();
  ({ WeftTrace } = await import(join(root, 'wasm', 'js', 'index.mjs')));
});
after(async () => { await weft?.close(); });

const rates = n => Float64Array.from({ length: n }, (_, i) => 2.5 + 1.5 * i / (n - 1));

function check(path, ...flags) {
  const r = spawnSync('/usr/bin/python3', [join(root, 'tests', 'c', 'check_trace.py'), path, ...flags], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return r.stdout;
}

test('a WeftTrace of worker, sequential and cached calls passes the trace checks', async t => {
  const trace = new WeftTrace();
  const x = rates(3000);
  const want = await weft.map('logistic', x, { backend: 'sequential' });
  const got = await weft.map('logistic', x, { backend: 'workers', nJobs: 2, trace });
  assert.deepEqual(got, want, 'tracing changes no result');
  await weft.map('logistic', x.subarray(0, 200), { backend: 'sequential', trace, batchSize: 1 });
  const dir = tempDir(t);
  await weft.map('logistic', x, { nJobs: 2, memory: dir, trace });
  await weft.map('logistic', x, { nJobs: 2, memory: dir, trace }); // all hits
  await assert.rejects(weft.map('fail_at_13', new Int32Array(40).map((_, i) => i), { nJobs: 2, trace }));

  const doc = trace.toJSON();
  const file = join(dir, 'trace.json');
  writeFileSync(file, JSON.stringify(doc));
  const out = check(file, '--workers', '2', '--cache');
  assert.match(out, /trace ok/);
  const ev = doc.traceEvents;
  const calls = ev.filter(e => e.ph === 'X' && e.cat === 'call');
  assert.equal(calls.length, 5);
  const tracks = new Set(ev.filter(e => e.ph === 'X' && e.cat === 'batch' && e.args.call === calls[0].args.call).map(e => e.tid));
  assert.ok(tracks.size >= 1 && tracks.size <= 2 && !tracks.has(0), `workers' tracks: ${[...tracks]}`);
  assert.ok(ev.some(e => e.ph === 'X' && e.cat === 'task'), 'one-item batches are tasks too');
  assert.ok(ev.some(e => e.ph === 'i' && e.name === 'task failed' && e.args.index === 13));
  const hit = ev.find(e => e.name === 'cache hit');
  assert.deepEqual(hit.args, { hits: 3000, misses: 0 });

  // the native tool reads JS traces too
  const tool = join(nativeBuild, 'native', 'cli', 'weft');
  if (existsSync(tool)) {
    const r = spawnSync(tool, ['trace', 'summary', file], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /busy per worker/);
    assert.match(r.stdout, /map logistic/);
  } else {
    t.diagnostic(`skip: ${tool} is not built (weft trace summary not checked)`);
  }
});

test('trace as a path (Node) writes the call\'s trace when it ends; bad values are refused', async t => {
  const file = join(tempDir(t), 'call.json');
  await weft.map('logistic', rates(500), { nJobs: 2, trace: file });
  check(file, '--workers', '2');
  assert.equal(JSON.parse(readFileSync(file, 'utf8')).otherData.producer, 'weft-js');
  for (const bad of [5, '', {}, true])
    await assert.rejects(weft.map('logistic', rates(4), { trace: bad }), e => e instanceof TypeError && /trace must be a WeftTrace or a file path/.test(e.message));
});
