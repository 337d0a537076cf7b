// Run by damaged.test.mjs in a child process, so a hang (a FIFO opened without
// O_NONBLOCK) ends in a timeout instead of a stuck suite: map pi_darts over argv's seeds
// with the cache folder argv[2] on backend argv[3]; print hits, misses and the output.
import { loadTestModule, bytes } from './helpers.mjs';

const [dir, backend, count] = process.argv.slice(2);
const input = BigUint64Array.from({ length: Number(count) }, (_, i) => BigInt(i) * 7919n + 1n);
const weft = await loadTestModule();
let last = null;
try {
  const out = await weft.map('pi_darts', input, {
    backend, nJobs: 2, memory: dir, out: Uint8Array, outSize: 8, onProgress: p => { last = p; },
  });
  console.log(JSON.stringify({ hits: last.hits, misses: last.misses, out: bytes(out).toString('hex') }));
} finally {
  await weft.close();
}
