// Memory above dispatch, as native maps have it (memory/dispatch_layer.c): look every item of a
// call up first (one batched read), run only the misses (compacted, on whatever backend),
// store each finished batch in one write (a kill or reload mid-run keeps the work done so
// far, also the items a failing batch finished before its failure), and yield batches in
// the call's index space. Two caches: 'indexeddb:NAME' in a browser, and a folder in Node
// (the native disk store, reached through the calling thread's instance). Keys, entries
// and the lookup's checks are the C core's either way.
import { IdbStore } from './browser/idb-store.mjs';
import { MemoryCodec } from './memory-codec.mjs';
import { bytesView } from './scheduler.mjs';

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
export class Memories {
  constructor(mainInstance) {
    this.mainInstance = mainInstance; // async () => the calling thread's Instance
    this.stores = new Map();
  }

  async codec() { return new MemoryCodec(await this.mainInstance()); }

  store(name) {
    let s = this.stores.get(name);
    if (!s) {
      s = this.codec().then(c => IdbStore.open(name, c));
      s.catch(() => this.stores.delete(name)); // a failed open is retried next time
      this.stores.set(name, s);
    }
    return s;
  }

  /** The cache of one call: plan.memory is {indexeddb: NAME} or a folder's path. */
  async cache(memory) {
    if (memory.indexeddb) return new IdbCache(await this.codec(), await this.store(memory.indexeddb));
    return new DiskCache(await this.mainInstance(), memory);
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

/** IndexedDB: keys and entries from the C side (MemoryCodec), records in one store. */
export class IdbCache {
  constructor(codec, db) { this.codec = codec, this.db = db, this.label = `'indexeddb:${db.name}'`; }

  async lookup(task, itemIn, n, outSize) {
    const input = n ? concat(itemIn, n) : null, inSize = n ? itemIn(0).byteLength : 0;
    this.keys = this.codec.keys(task, input, inSize, n);
    const got = await this.db.getMany(this.keys.map(k => `${task}/${k}`));
    const found = new Uint8Array(n), all = new Uint8Array(n * outSize);
    for (let i = 0; i < n; i++) {
      const e = got[i] && this.codec.describe(got[i], task, this.keys[i]);
      if (e && got[i].byteLength - e.valueOffset === outSize) all.set(got[i].subarray(e.valueOffset), i * outSize), found[i] = 1;
      // corrupt (or from a map with another outSize): recomputed, and replaced
      else if (got[i] && !e) console.warn(`weft: cache entry ${task}/${this.keys[i]} in ${this.label} is corrupt: it will be recomputed`);
    }
    return { found, all };
  }

  store(task, items, ns) {
    const entries = items.map(({ i, input, value }) => {
      const bytes = this.codec.entry(task, input, value, ns);
      this.version ??= this.codec.describe(bytes).version; // the one the C side keyed with
      return { task, key: this.keys[i], version: this.version, bytes };
    });
    return this.db.putMany(entries);
  }
}

/** A folder in Node: the native disk store, through the calling thread's instance. */
export class DiskCache {
  constructor(instance, path) { this.I = instance, this.path = path, this.label = path; }

  async lookup(task, itemIn, n, outSize) {
    this.I.setMemory(this.path);
    return this.I.memoryLookup(task, n ? concat(itemIn, n) : null, n ? itemIn(0).byteLength : 0, n, outSize);
  }

  async store(task, items, ns) {
    const input = concat(i => items[i].input, items.length), output = concat(i => items[i].value, items.length);
    this.I.memoryStore(task, input, items.length ? items[0].input.byteLength : 0, items.length, output,
      items.length ? items[0].value.byteLength : 0, ns);
  }
}

/** The bytes of items [0, n) (each given by at(i), all of one size) in one array. */
function concat(at, n) {
  const size = at(0).byteLength, out = new Uint8Array(n * size);
  for (let i = 0; i < n; i++) out.set(at(i), i * size);
  return out;
}

/**
 * The batches of a call with a memory. `cache`: IdbCache or DiskCache; `run(plan)` runs a
 * plan without a memory (Weft.batches). Hits and misses go to onProgress.
 */
export async function* memoryBatches(cache, plan, run) {
  const { n, inSize, outSize, task, input } = plan;
  const itemIn = i => input ? input.subarray(i * inSize, (i + 1) * inSize) : new Uint8Array(0);
  const { found, all } = await cache.lookup(task, itemIn, n, outSize);
  const misses = [];
  for (let i = 0; i < n; i++) if (!found[i]) misses.push(i);
  const hits = n - misses.length, t0 = performance.now();
  plan.traceCall && plan.trace.lookup(plan.traceCall, hits, misses.length);
  const report = done => plan.onProgress?.({ done: hits + done, total: n, elapsedMs: performance.now() - t0, hits, misses: done });
  const compact = new Uint8Array(misses.length * inSize);
  if (inSize) misses.forEach((i, k) => compact.set(itemIn(i), k * inSize));

  const filled = found.slice(), writes = [];
  let next = 0, warned = false;
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
  // finished items [start, start + count) of the compacted call: into place, and stored
  function keep(start, count, output, ms) {
    const out = bytesView(output), idx = misses.slice(start, start + count), items = [];
    idx.forEach((i, k) => {
      const value = out.subarray(k * outSize, (k + 1) * outSize);
      all.set(value, i * outSize);
      filled[i] = 1;
      items.push({ i, input: itemIn(i), value });
    });
    // a result that could not be kept is still right: say so once, as natively
    const ns = (ms ?? 0) * 1e6 / Math.max(count, 1);
    plan.traceCall && plan.trace.instant('cache store', 'cache', { stored: items.length });
    writes.push(Promise.resolve().then(() => cache.store(task, items, ns))
      .catch(e => { if (!warned) warned = true, console.warn(`weft: could not store results of '${task}' in ${cache.label}: ${e.message}`); }));
    return idx;
  }

  try {
    if (hits && plan.onProgress) report(0);
    yield* plan.ordered ? prefix() : runs(Array.from({ length: n }, (_, i) => i).filter(i => found[i]));
    if (!misses.length) return;
    const inner = { ...plan, input: compact, n: misses.length, memory: null, onProgress: plan.onProgress && (p => report(p.done)),
      onBatch: plan.onBatch && (b => plan.onBatch({ ...b, firstIndex: misses[b.start] })) };
    try {
      for await (const b of run(inner)) {
        const idx = keep(b.start, b.count, b.output, b.ms);
        yield* plan.ordered ? prefix() : runs(idx);
      }
    } catch (e) {
      // the items a failing batch finished first are kept; the index is the call's
      if (e?.partial?.count) keep(e.index - e.partial.count, e.partial.count, e.partial.output, e.partial.ms);
      if (typeof e?.index === 'number' && e.index >= 0 && e.index < misses.length) e.index = misses[e.index];
      throw e;
    }
  } finally {
    await Promise.all(writes); // the call settles once its results are stored
  }
}
