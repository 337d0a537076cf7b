// The JS API inside a user's Node process: loading weft leaves the process's own error
// handling alone (an uncaught error prints the user's stack and exits 1; a rejection too;
// no listener piles up per load), and the workers backend runs from `node -e` and
// `node --input-type=module -e` (whose options a worker must not inherit).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { requireFile, root, testModule } from './helpers.mjs';

const api = pathToFileURL(join(root, 'wasm', 'js', 'index.mjs')).href;

function node(args) {
  requireFile(testModule + '.node.cjs', 'cmake --build --preset emscripten --target weft_test_tasks');
  return spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 60000 });
}

// a map, printed: the module is loaded and used before the user's code goes on
const mapOn = backend => `const weft = await load({ module: ${JSON.stringify(testModule)} });
  const out = await weft.map('index_of', new Float64Array(8), { backend: '${backend}', nJobs: 2 });
  console.log('mapped', out.join(','));`;
const mapped = mapOn('sequential');

test('a later uncaught error in the user\'s code prints its own stack and exits 1', () => {
  const r = node(['--input-type=module', '-e', `import { load } from ${JSON.stringify(api)};
    ${mapped}
    function userCode() { throw new Error('the user\\'s own mistake'); }
    userCode();`]);
  assert.match(r.stdout, /^mapped 0,1,2,3,4,5,6,7$/m);
  assert.equal(r.status, 1, r.stderr.slice(0, 2000));
  assert.match(r.stderr, /Error: the user's own mistake\n\s+at userCode/);
  assert.ok(r.stderr.length < 2000, `stderr is ${r.stderr.length} bytes:\n${r.stderr.slice(0, 600)}`);
});

test('an unhandled rejection in the user\'s code is Node\'s own (exit 1, the user\'s stack)', () => {
  const r = node(['--input-type=module', '-e', `import { load } from ${JSON.stringify(api)};
    ${mapped}
    Promise.reject(new RangeError('rejected by the user'));`]);
  assert.equal(r.status, 1, r.stderr.slice(0, 2000));
  assert.match(r.stderr, /RangeError: rejected by the user/);
  assert.ok(r.stderr.length < 2000, `stderr is ${r.stderr.length} bytes`);
});

test('loading the module 11 times adds no process listeners and no warning', () => {
  const r = node(['--input-type=module', '-e', `import { load } from ${JSON.stringify(api)};
    const before = ['uncaughtException', 'unhandledRejection', 'exit'].map(e => process.listenerCount(e));
    for (let i = 0; i < 11; i++) {
      const weft = await load({ module: ${JSON.stringify(testModule)} });
      await weft.map('index_of', new Float64Array(4), { backend: 'sequential' });
    }
    const after = ['uncaughtException', 'unhandledRejection', 'exit'].map(e => process.listenerCount(e));
    console.log(JSON.stringify({ before, after }));`]);
  assert.equal(r.status, 0, r.stderr);
  const { before, after } = JSON.parse(r.stdout);
  assert.deepEqual(after, before);
  assert.doesNotMatch(r.stderr, /MaxListenersExceeded|Warning/);
});

for (const flags of [['-e'], ['--input-type=module', '-e']]) {
  test(`the workers backend from \`node ${flags.join(' ')}\``, () => {
    const code = flags.length === 1
      ? `import(${JSON.stringify(api)}).then(async ({ load }) => { ${mapOn('workers')} })`
      : `import { load } from ${JSON.stringify(api)}; ${mapOn('workers')}`;
    const r = node([...flags, code]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^mapped 0,1,2,3,4,5,6,7$/m);
    assert.equal(r.stderr, '');
  });
}

test('a task\'s abort() is one error naming the item and task, with no Emscripten noise', () => {
  const r = node(['--input-type=module', '-e', `import { load } from ${JSON.stringify(api)};
    const weft = await load({ module: ${JSON.stringify(testModule)} });
    for (const backend of ['sequential', 'workers'])
      await weft.map('abort_if_negative', Int32Array.of(1, 2, -1, 4), { backend, batchSize: 1 })
        .catch(e => console.log(JSON.stringify([e.code, e.index, e.task, e.message])));`]);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  const lines = r.stdout.trim().split('\n').map(l => JSON.parse(l));
  assert.deepEqual(lines, [
    ['WEFT_ECRASHED', 2, 'abort_if_negative', "task 'abort_if_negative' crashed the module while running item 2: abort() called"],
    ['WEFT_ECRASHED', 2, 'abort_if_negative', "task 'abort_if_negative' crashed its worker while running item 2: abort() called"],
  ]);
});
