// Shared by the JS API suites: where the builds are, and the native side of comparisons.
//   WEFT_EMSCRIPTEN_BUILD  default build/emscripten (the module weft_test_tasks)
//   WEFT_NATIVE_BUILD      default build/release    (the program weft_map_file)
// scripts/test-wasm.sh builds both first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const emBuild = resolve(root, process.env.WEFT_EMSCRIPTEN_BUILD || 'build/emscripten');
export const nativeBuild = resolve(root, process.env.WEFT_NATIVE_BUILD || 'build/release');
export const testModule = join(emBuild, 'tests', 'node', 'weft_test_tasks');
export const exampleModule = join(emBuild, 'examples', 'wasm-tasks', 'example_tasks');
const mapFile = join(nativeBuild, 'tests', 'node', 'weft_map_file');

export function requireFile(path, how) {
  if (!existsSync(path)) assert.fail(`${path} does not exist: build it with ${how} (scripts/test-wasm.sh does)`);
}

export async function loadTestModule() {
  requireFile(testModule + '.node.cjs', 'cmake --build --preset emscripten --target weft_test_tasks');
  const { load } = await import(join(root, 'wasm', 'js', 'index.mjs'));
  return load({ module: testModule });
}

export function tempDir(t) {
  const dir = mkdtempSync(join(tmpdir(), 'weft-node-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Map natively: {result: {rc, hits, ...}, output: Buffer}. */
export function nativeMap(t, task, input, inSize, outSize, extra = []) {
  requireFile(mapFile, 'cmake --build --preset release --target weft_map_file');
  const dir = tempDir(t);
  const inPath = join(dir, 'in'), outPath = join(dir, 'out');
  writeFileSync(inPath, new Uint8Array(input.buffer, input.byteOffset, input.byteLength));
  // the native side makes file-per-entry folders, the kind Node's build shares (a packed
  // folder is native only: docs/cache-format.md)
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WEFT_'))), WEFT_CACHE_STORE: 'file' };
  const r = spawnSync(mapFile, [task, inPath, String(inSize), String(outSize), outPath, ...extra], { env, encoding: 'utf8' });
  if (r.status !== 0 && r.status !== 1) assert.fail(`weft_map_file failed (${r.status}): ${r.stderr}`);
  const result = JSON.parse(r.stdout);
  return { result, output: result.rc === 0 ? readFileSync(outPath) : null };
}

export const bytes = a => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
