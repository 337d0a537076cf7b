// Nested maps inside JS workers (docs/nested.md, wasm/js/nested.mjs), in one table: the
// wall time of outer maps whose tasks each map nest_inner over m items (tests/node/js_tasks.c)
//   - borrowing: the pool's idle workers take chunks of the nested maps (the default)
//   - on one worker: load({ borrowIdleWorkers: false }), every nested map on its opener
//   - flat: the same inner items as one map (no nesting), the floor
// side by side in one run, on a pool of 4 workers. The inner tasks sleep (Atomics.wait)
// rather than spin, so the figures show scheduling, not the CPUs a loaded machine has
// left; "workers" is how many distinct worker threads ran inner items.
//   node bench/wasm_nested.mjs [--quick]
// Needs: cmake --build --preset emscripten --target weft_test_tasks.
import { loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const { load } = await import(join(root, 'wasm', 'js', 'index.mjs'));
const module = join(root, process.env.WEFT_EMSCRIPTEN_BUILD || 'build/emscripten', 'tests', 'node', 'weft_test_tasks');
const NJOBS = 4, OUT = 3 + 2 * 32, reps = quick ? 1 : 3, ms = quick ? 4 : 10;
const borrow = await load({ module }), alone = await load({ module, borrowIdleWorkers: false });
await Promise.all([borrow.pool.slots(NJOBS), alone.pool.slots(NJOBS)]);

async function best(fn) { // the best of a few runs: the least disturbed by other load
  let t = Infinity, r;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    r = await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return [t, r];
}

/** outer maps of `outer` tasks, each nesting m items: [ms, distinct inner workers] */
async function nested(w, outer, m) {
  const input = Float64Array.from({ length: outer * 5 }, (_, k) => [m, ms, -1, k, -1][k % 5]);
  const [t, out] = await best(() => w.map('nest_outer', input, { inSize: 40, outSize: OUT * 8, out: Float64Array, nJobs: NJOBS, batchSize: 1 }));
  const threads = new Set();
  for (let i = 0; i < outer; i++) {
    if (out[i * OUT] !== 0) throw new Error(`nested map ${i} failed: rc ${out[i * OUT]}`);
    for (let j = 0; j < m; j++) threads.add(out[i * OUT + 4 + 2 * j]);
  }
  return [t, threads.size];
}

async function flat(outer, m) {
  const input = Float64Array.from({ length: outer * m * 2 }, (_, k) => (k % 2 ? ms : k));
  const [t, out] = await best(() => borrow.map('nest_inner', input, { inSize: 16, outSize: 16, nJobs: NJOBS, batchSize: 1 }));
  const threads = new Set();
  for (let i = 0; i < outer * m; i++) threads.add(out[2 * i + 1]);
  return [t, threads.size];
}

const shapes = quick ? [[1, 16], [4, 8]] : [[1, 32], [2, 16], [4, 16], [8, 8]];
const rows = [];
for (const [outer, m] of shapes) {
  const [b, bw] = await nested(borrow, outer, m);
  const [a, aw] = await nested(alone, outer, m);
  const [f, fw] = await flat(outer, m);
  rows.push([`${outer} x ${m}`, b, bw, a, aw, f, fw]);
}
await Promise.all([borrow.close(), alone.close()]);

console.log(`weft JS nested maps (${quick ? 'quick' : 'full'}): Node ${process.version}, ${NJOBS} workers, inner tasks sleep ${ms} ms, best of ${reps}, load ${loadavg()[0].toFixed(2)}`);
console.log(`${'outer x inner'.padEnd(14)} ${'borrowing ms'.padStart(12)} ${'workers'.padStart(7)} ${'one worker ms'.padStart(13)} ${'workers'.padStart(7)} ${'flat ms'.padStart(8)} ${'workers'.padStart(7)} ${'borrow/flat'.padStart(11)} ${'ideal ms'.padStart(8)}`);
for (const [shape, b, bw, a, aw, f, fw] of rows) {
  const [o, m] = shape.split(' x ').map(Number);
  const ideal = Math.ceil((o * m) / NJOBS) * ms; // every worker busy from start to end
  console.log(`${shape.padEnd(14)} ${b.toFixed(0).padStart(12)} ${String(bw).padStart(7)} ${a.toFixed(0).padStart(13)} ${String(aw).padStart(7)} ${f.toFixed(0).padStart(8)} ${String(fw).padStart(7)} ${((100 * b) / f).toFixed(1).padStart(10)}% ${String(ideal).padStart(8)}`);
}
console.log('one worker: each nested map on its opening worker (borrowIdleWorkers: false); flat: the same inner items as one map');
