// The npm package: `npm pack` (wasm/pack.sh), installed offline into an empty folder
// outside the repository, runs the Node example of wasm/README.md; its browser build (ES
// module) loads too; and the user's own tasks build with the package alone: its
// `weft-build` command and its CMake module (headers, libweft.a and flags from the package).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { emBuild, exampleModule, requireFile, root, tempDir } from './helpers.mjs';

// the distribution name (the import name of the package): wasm/package.json's
const pkgName = JSON.parse(readFileSync(join(root, 'wasm', 'package.json'), 'utf8')).name;
const run = (cmd, args, cwd, env = process.env) =>
  execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Pack the package and install only its tarball into an empty folder: the app's folder. */
function installPacked(t) {
  requireFile(exampleModule + '.node.cjs', 'cmake --build --preset emscripten --target example_tasks');
  const dir = tempDir(t);
  const tarball = run('bash', [join(root, 'wasm', 'pack.sh'), emBuild, join(dir, 'pack')], root).trim();
  const app = join(dir, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name": "app", "private": true, "type": "module"}\n');
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', join(dir, 'npm-cache'), tarball], app);
  return app;
}

// a user's own task, in a folder of its own: no file of the repository is reachable
const userTasks = `#include <string.h>
#include "weft.h"

static int triple(weft_task *t) {
    double x;
    memcpy(&x, weft_input(t), sizeof x);
    x *= 3;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(triple)
`;
const userScript = module => `import { load } from '${pkgName}';
const weft = await load({ module: '${module}' });
console.log([...await weft.map('triple', Float64Array.of(1, 2, 3), { nJobs: 2 })].join(' '));
`;

function readmeExample() {
  const text = readFileSync(join(root, 'wasm', 'README.md'), 'utf8');
  const m = text.match(/<!-- node-example[^>]*-->\s*```js\n([\s\S]*?)```/);
  assert.ok(m, 'wasm/README.md has no node-example block');
  return m[1];
}

test('npm pack, npm install offline into an empty folder, run the README example', async t => {
  const app = installPacked(t);
  writeFileSync(join(app, 'example.mjs'), readmeExample());
  const out = run('node', ['example.mjs'], app);
  assert.match(out, /^pi ~ 3\.1\d+\n$/);

  // the same tasks from the browser build (ESM, web/worker environment), given the binary
  const pkg = join(app, 'node_modules', pkgName);
  const { default: create } = await import(pathToFileURL(join(pkg, 'dist', 'example_tasks.mjs')));
  const { Instance } = await import(pathToFileURL(join(pkg, 'js', 'instance.mjs')));
  const web = new Instance(await create({ wasmBinary: readFileSync(join(pkg, 'dist', 'example_tasks.wasm')) }));
  const seeds = BigUint64Array.from({ length: 10 }, (_, i) => BigInt(i));
  const r = web.runBatch({ task: 'pi_darts', input: new Uint8Array(seeds.buffer), count: 10, inSize: 8, outSize: 8, start: 0 });
  const { load } = await import(pathToFileURL(join(pkg, 'js', 'index.mjs')));
  const weft = await load();
  const want = await weft.map('pi_darts', seeds, { out: Float64Array, backend: 'sequential' });
  assert.deepEqual(new Float64Array(r.output), want);
});

test('the installed package builds the user\'s own tasks: npx weft-build', t => {
  const app = installPacked(t);
  writeFileSync(join(app, 'my_tasks.c'), userTasks);
  const made = run('npx', ['--offline', 'weft-build', 'my_tasks.c', '-o', 'my_tasks.mjs'], app);
  assert.match(made, /my_tasks\.node\.cjs/);
  assert.match(made, /my_tasks\.mjs/);
  writeFileSync(join(app, 'use.mjs'), userScript('./my_tasks'));
  assert.equal(run('node', ['use.mjs'], app), '3 6 9\n');
  // bad use says what is wrong
  assert.throws(() => run('npx', ['--offline', 'weft-build', 'missing.c', '-o', 'x'], app), /missing\.c does not exist/);
  assert.match(run('npx', ['--offline', 'weft-build', '--help'], app), /usage: weft-build/);
});

test('the installed package builds the user\'s own tasks: its CMake module under emcmake', t => {
  const app = installPacked(t);
  writeFileSync(join(app, 'my_tasks.c'), userTasks);
  writeFileSync(join(app, 'CMakeLists.txt'), `cmake_minimum_required(VERSION 3.20)
project(app C)
include(node_modules/${pkgName}/cmake/WeftWasm.cmake)
weft_add_wasm_module(my_tasks SOURCES my_tasks.c)
`);
  run('emcmake', ['cmake', '-S', '.', '-B', 'build', '-DCMAKE_BUILD_TYPE=Release'], app);
  run('cmake', ['--build', 'build'], app);
  writeFileSync(join(app, 'use.mjs'), userScript('./build/my_tasks'));
  assert.equal(run('node', ['use.mjs'], app), '3 6 9\n');
});

// The types say what the code does: tsc --strict accepts what works and refuses the rest.
const tsGood = `import { load, WeftError, WeftTrace } from '${pkgName}';
const weft = await load({ module: './my_tasks' });
const f64: Float64Array = await weft.map('t', new Float64Array(4));
const i32: Int32Array = await weft.map('t', new Int32Array(4));            // the inputs' type
const bytes: Uint8Array = await weft.map('t', new ArrayBuffer(8));         // else Uint8Array
const none: Uint8Array = await weft.map('t', null, { n: 4, inSize: 0, outSize: 1 });
const f32: Float32Array = await weft.map('t', new Int32Array(4), { out: Float32Array });
for await (const { index, value } of weft.imap('t', new Int32Array(4), { ordered: false })) {
  const v: Int32Array = value;
  console.log(index, v);
}
const sum: number = await weft.reduce('t', new Float64Array(4), { fold: (a: number, v: Float64Array) => a + v[0], initial: 0 });
try { await weft.map('t', f64, { memory: 'cache', nJobs: -1, signal: new AbortController().signal }); }
catch (e) { if (e instanceof WeftError) console.log(e.index, e.task, e.code); }
const trace = new WeftTrace();
await weft.map('t', f64, { trace });
await weft.map('t', f64, { trace: 'call.json' });
console.log(i32, bytes, none, f32, sum, trace.toJSON().traceEvents.length);
`;
const tsBad = {
  'the default out is the inputs\' type, not Float64Array':
    `const x: Float64Array = await weft.map('t', new Int32Array(4));`,
  'an ArrayBuffer gives Uint8Array': `const x: Float64Array = await weft.map('t', new ArrayBuffer(8));`,
  'browser-only load options are not Node\'s': `await load({ moduleUrl: 'x.mjs' });`,
  'workers: false is the browser\'s': `await load({ workers: false });`,
  'a misspelt option': `await weft.map('t', new Int32Array(4), { nJbos: 2 });`,
  'trace is a WeftTrace or a path': `await weft.map('t', new Int32Array(4), { trace: 5 });`,
  'imap values have the out type': `for await (const { value } of weft.imap('t', new Int32Array(4))) { const v: Float64Array = value; }`,
};

test('TypeScript: tsc --strict accepts what the API does and refuses the rest', t => {
  let tsc;
  try {
    tsc = run('sh', ['-c', 'command -v tsc'], root).trim();
  } catch {
    return t.skip('no tsc (Debian: node-typescript; scripts/setup.sh all installs it)');
  }
  const app = installPacked(t);
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
    compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext',
      lib: ['es2022', 'dom'], types: [], skipLibCheck: false },
  }));
  writeFileSync(join(app, 'good.ts'), tsGood);
  const check = file => {
    try {
      run(tsc, ['-p', '.'], app);
      return '';
    } catch (e) {
      return e.stdout + e.stderr;
    }
  };
  assert.equal(check(), '', 'good.ts must compile');
  const head = `import { load } from '${pkgName}';\nconst weft = await load();\n`;
  for (const [why, code] of Object.entries(tsBad)) {
    writeFileSync(join(app, 'good.ts'), head + code + '\nexport {};\n');
    assert.match(check(), /error TS\d+/, `must not compile: ${why}`);
  }
});
