// Per-task overhead of the JavaScript API's workers backend (wasm/README.md), in one table:
//   - workers, automatic batches: empty tasks (the `noop` test task, 8-byte inputs)
//   - workers, batchSize 1: one message round trip per task
//   - a plain postMessage round trip to a worker_threads Worker (no weft)
//   - the sequential backend (calling thread), automatic batches and batchSize 1 (the
//     scheduler's own cost per batch, no messages)
//   - native threads (rows a and b of bench/overhead.c, run here when built)
// Targets: <= 2 us per task with automatic batching, <= 10 us with batchSize 1.
//   node bench/wasm_workers.mjs [--quick]
// Needs: cmake --build --preset emscripten --target weft_test_tasks; for the native row,
// bash bench/run.sh --quick once (builds build/bench/bench/weft_bench_overhead).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const quick = process.argv.includes('--quick');
const { load } = await import(join(root, 'wasm', 'js', 'index.mjs'));
const weft = await load({ module: join(root, process.env.WEFT_EMSCRIPTEN_BUILD || 'build/emscripten', 'tests', 'node', 'weft_test_tasks') });
const nJobs = availableParallelism();

async function best(reps, fn) { // the best of a few runs: the least disturbed by other load
  let t = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await fn();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

let cpuUs = NaN; // the least CPU time of the runs (the whole process: every thread), us per task

async function perTask(n, options) {
  const input = new Float64Array(n);
  await weft.map('noop', input.subarray(0, 1000), { ...options, outSize: 0 }); // warm: workers up
  let cpu = Infinity;
  const ms = await best(quick ? 2 : 5, async () => {
    const c0 = process.cpuUsage();
    await weft.map('noop', input, { ...options, outSize: 0 });
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, c.user + c.system);
  });
  cpuUs = cpu / n;
  return (ms * 1000) / n;
}

async function postMessageRoundTrip(n) {
  const w = new Worker("require('node:worker_threads').parentPort.on('message', m => require('node:worker_threads').parentPort.postMessage(m))", { eval: true });
  const once = () => new Promise(r => { w.once('message', r); w.postMessage(1); });
  for (let i = 0; i < 100; i++) await once();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await once();
    times.push((performance.now() - t0) * 1000);
  }
  await w.terminate();
  times.sort((a, b) => a - b);
  return [times[times.length >> 1], times[Math.floor(times.length * 0.99)]];
}

function nativeRows() {
  const bin = join(root, 'build', 'bench', 'bench', 'weft_bench_overhead');
  if (!existsSync(bin)) return null;
  const r = spawnSync(bin, ['--quick'], { encoding: 'utf8' });
  const row = id => {
    const m = r.stdout.match(new RegExp(`^${id}\\s+ns/item.*?(?:batch_size 1|auto batch)\\s+([\\d.]+)`, 'm'));
    return m ? Number(m[1]) / 1000 : NaN;
  };
  return { one: row('a'), auto: row('b') };
}

const nAuto = quick ? 200_000 : 2_000_000, nOne = quick ? 5_000 : 20_000;
const rows = [];
const autoUs = await perTask(nAuto, { backend: 'workers', nJobs });
rows.push(['workers, automatic batches', `${nAuto} empty tasks`, autoUs, cpuUs, autoUs <= 2 ? 'met (<= 2 us)' : 'NOT MET (<= 2 us)']);
const oneUs = await perTask(nOne, { backend: 'workers', nJobs, batchSize: 1 });
rows.push(['workers, batchSize 1', `${nOne} empty tasks`, oneUs, cpuUs, oneUs <= 10 ? 'met (<= 10 us)' : 'NOT MET (<= 10 us)']);
const [pm, pm99] = await postMessageRoundTrip(quick ? 2000 : 10000);
rows.push(['plain postMessage round trip, p50', 'one worker', pm, NaN, '']);
rows.push(['plain postMessage round trip, p99', 'one worker', pm99, NaN, '']);
const seqUs = await perTask(nAuto, { backend: 'sequential' });
rows.push(['sequential (calling thread), automatic', `${nAuto} empty tasks`, seqUs, cpuUs, '']);
// the scheduler's own cost per batch, without messages: the floor of batchSize 1's
// calling-thread side
const seqOneUs = await perTask(nOne, { backend: 'sequential', batchSize: 1 });
rows.push(['sequential (calling thread), batchSize 1', `${nOne} empty tasks`, seqOneUs, cpuUs, '']);
const native = nativeRows();
if (native) {
  rows.push(['native threads, automatic (overhead row b)', 'bench/overhead --quick', native.auto, NaN, '']);
  rows.push(['native threads, batch_size 1 (row a)', 'bench/overhead --quick', native.one, NaN, '']);
} else {
  rows.push(['native threads', 'not built: bash bench/run.sh --quick', NaN, NaN, '']);
}
await weft.close();

console.log(`weft JS API overhead (${quick ? 'quick' : 'full'}): Node ${process.version}, ${nJobs} workers, ${cpus()[0]?.model ?? '?'}, load ${loadavg()[0].toFixed(2)}`);
console.log(`${'measure'.padEnd(44)} ${'size'.padEnd(26)} ${'us/task'.padStart(9)} ${'cpu us/task'.padStart(11)}  target`);
const fmt = (x, w) => (Number.isNaN(x) ? '-' : x.toFixed(3)).padStart(w);
for (const [what, size, us, cpu, target] of rows)
  console.log(`${what.padEnd(44)} ${size.padEnd(26)} ${fmt(us, 9)} ${fmt(cpu, 11)}  ${target}`);
console.log('cpu us/task: the least CPU time of the runs, of the whole process (calling thread and workers), per task;\n' +
  'on a loaded machine the wall time waits for CPUs, this does not');
