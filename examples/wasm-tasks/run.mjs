// The example tasks from Node, on worker threads, with a cache:
//   cmake --preset emscripten && cmake --build --preset emscripten --target example_tasks
//   node examples/wasm-tasks/run.mjs
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { load } from '../../wasm/js/index.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const weft = await load({ module: join(root, 'build/emscripten/examples/wasm-tasks/example_tasks') });
const seeds = BigUint64Array.from({ length: 2000 }, (_, i) => BigInt(i));
const pi = await weft.map('pi_darts', seeds, {
  out: Float64Array,
  memory: join(root, 'build', 'example-cache'), // a second run is served from here
  onProgress: p => p.done === p.total && console.log(`${p.hits} of ${p.total} from the cache`),
});
console.log('pi ~', pi.reduce((a, b) => a + b) / pi.length);
const roots = await weft.map('poly_shared', Float64Array.of(0, 1, 2), { shared: Float64Array.of(1, 0, 1) });
console.log('1 + x^2 at 0, 1, 2:', [...roots].join(', '));
