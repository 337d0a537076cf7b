// The npm package: `npm pack` (wasm/pack.sh), installed offline into an empty folder,
// runs the Node example of wasm/README.md; its browser build (ES module) loads too.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { emBuild, exampleModule, requireFile, root, tempDir } from './helpers.mjs';

function readmeExample() {
  const text = readFileSync(join(root, 'wasm', 'README.md'), 'utf8');
  const m = text.match(/<!-- node-example[^>]*-->\s*```js\n([\s\S]*?)```/);
  assert.ok(m, 'wasm/README.md has no node-example block');
  return m[1];
}

test('npm pack, npm install offline into an empty folder, run the README example', async t => {
  requireFile(exampleModule + '.node.cjs', 'cmake --build --preset emscripten --target example_tasks');
  const dir = tempDir(t);
  const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const tarball = run('bash', [join(root, 'wasm', 'pack.sh'), emBuild, join(dir, 'pack')], root).trim();
  const app = join(dir, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), '{"name": "app", "private": true, "type": "module"}\n');
  run('npm', ['install', '--offline', '--no-audit', '--no-fund', '--cache', join(dir, 'npm-cache'), tarball], app);
  writeFileSync(join(app, 'example.mjs'), readmeExample());
  const out = run('node', ['example.mjs'], app);
  assert.match(out, /^pi ~ 3\.1\d+\n$/);

  // the same tasks from the browser build (ESM, web/worker environment), given the binary
  const pkg = join(app, 'node_modules', 'weft');
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
