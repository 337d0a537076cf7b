// memory: 'indexeddb:NAME' for map / imap / reduce. IndexedDB is asynchronous and the C
// store API synchronous, so the cache works around the batches: look every item up in
// one read, run only the misses (compacted), store each finished batch in one write (a
// reload mid-run keeps the work done so far), and yield batches in the call's index space.
import { IdbStore } from './browser/idb-store.mjs';
import { MemoCodec } from './memo-codec.mjs';

const PREFIX = 'indexeddb:';

/** 'indexeddb:NAME' -> {indexeddb: NAME}; anything else -> null. */
export function parseMemory(spec, call) {
  if (typeof spec !== 'string' || !spec.startsWith(PREFIX)) return null;
  const name = spec.slice(PREFIX.length);
  if (!name) throw new TypeError(`weft.${call}: memory 'indexeddb:' needs a cache name, e.g. 'indexeddb:results'`);
  return { indexeddb: name };
}

export const supportsIndexedDB = () => typeof globalThis.indexedDB !== 'undefined' && globalThis.indexedDB !== null;

/** The IndexedDB stores of one Weft object, opened once per name. */
export class Memos {
  constructor(mainInstance) {
    this.mainInstance = mainInstance; // async () => the calling thread's Instance
    this.stores = new Map();
  }

  async codec() { return new MemoCodec(await this.mainInstance()); }

  store(name) {
    let s = this.stores.get(name);
    if (!s) {
      s = this.codec().then(c => IdbStore.open(name, c));
      s.catch(() => this.stores.delete(name)); // a failed open is retried next time
      this.stores.set(name, s);
    }
    return s;
  }

  /** weft.memory('indexeddb:NAME'): stats, clear, export, import. */
  handle(spec) {
    const m = parseMemory(spec, 'memory');
    if (!m) throw new TypeError(`weft.memory: give 'indexeddb:NAME' (a folder cache is used through options.memory in Node), not ${JSON.stringify(spec)}`);
    const s = () => this.store(m.indexeddb);
    return {
      name: m.indexeddb,
      stats: async () => (await s()).stats(),
      clear: async task => (await s()).clear(task),
      export: async task => (await s()).export(task),
      import: async archive => (await s()).import(archive),
    };
  }
}

/**
 * The batches of a call with an IndexedDB memory. `run(plan)` runs a plan without a
 * memory (Weft.batches). Hits and misses go to onProgress as the Node path reports them.
 */
export async function* memoBatches(memos, plan, run) {
  const { n, inSize, outSize, task, input } = plan;
  const codec = await memos.codec(), store = await memos.store(plan.memory.indexeddb);
  const keys = codec.keys(task, input, inSize, n);
  const found = await store.getMany(keys.map(k => `${task}/${k}`));
  const all = new Uint8Array(n * outSize), misses = [];
  for (let i = 0; i < n; i++) {
    const e = found[i] && codec.describe(found[i], task, keys[i]);
    if (e && found[i].byteLength - e.valueOffset === outSize) all.set(found[i].subarray(e.valueOffset), i * outSize);
    else {
      // corrupt (or from a map with another outSize): recomputed, and replaced below
      if (found[i] && !e) console.warn(`weft: cache entry ${task}/${keys[i]} in 'indexeddb:${store.name}' is corrupt: it will be recomputed`);
      misses.push(i);
    }
  }
  const hits = n - misses.length, t0 = performance.now();
  const report = done => plan.onProgress?.({ done: hits + done, total: n, elapsedMs: performance.now() - t0, hits, misses: done });
  const itemIn = i => input ? input.subarray(i * inSize, (i + 1) * inSize) : new Uint8Array(0);
  const compact = new Uint8Array(misses.length * inSize);
  if (inSize) misses.forEach((i, k) => compact.set(itemIn(i), k * inSize));

  const filled = new Uint8Array(n), writes = [];
  let next = 0, warned = false, version;
  const slice = (s, e) => ({ start: s, count: e - s, output: all.slice(s * outSize, e * outSize).buffer });
  function* runs(indices) { // contiguous runs of finished items, as batches
    for (let a = 0; a < indices.length;) {
      let b = a + 1;
      while (b < indices.length && indices[b] === indices[b - 1] + 1) b++;
      yield slice(indices[a], indices[b - 1] + 1);
      a = b;
    }
  }
  function* prefix() { // ordered: everything finished from `next` on
    const s = next;
    while (next < n && filled[next]) next++;
    if (next > s) yield slice(s, next);
  }
  const hitIndices = [];
  for (let i = 0, k = 0; i < n; i++) if (misses[k] === i) k++; else filled[i] = 1, hitIndices.push(i);

  try {
    if (hits && plan.onProgress) report(0);
    yield* plan.ordered ? prefix() : runs(hitIndices);
    if (!misses.length) return;
    const inner = { ...plan, input: compact, n: misses.length, memory: null, onProgress: plan.onProgress && (p => report(p.done)) };
    for await (const b of run(inner)) {
      const out = new Uint8Array(b.output), idx = misses.slice(b.start, b.start + b.count), entries = [];
      const ns = (b.ms ?? 0) * 1e6 / b.count;
      idx.forEach((i, k) => {
        const value = out.subarray(k * outSize, (k + 1) * outSize);
        all.set(value, i * outSize);
        filled[i] = 1;
        const bytes = codec.entry(task, itemIn(i), value, ns);
        version ??= codec.describe(bytes).version; // the one the C side keyed with
        entries.push({ task, key: keys[i], version, bytes });
      });
      // a result that could not be kept is still right: say so once, as natively
      writes.push(store.putMany(entries).catch(e => { if (!warned) warned = true, console.warn(e.message); }));
      yield* plan.ordered ? prefix() : runs(idx);
    }
  } finally {
    await Promise.all(writes); // the call settles once its results are stored
  }
}
