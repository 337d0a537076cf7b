// Nested maps inside a worker (docs/nested.md): "a nested map inside a worker runs on that
// worker unless the pool has idle workers". The C side (wasm/src/weft_js_nested.c) hands
// a task's map to NestedWorker (Module.weftNested). Where workers may share memory
// (SharedArrayBuffer + Atomics.wait: always in Node, in a page only when crossOriginIsolated)
// the inputs go into one SharedArrayBuffer, the main thread's NestedBroker asks the pool's
// idle workers to help, and everyone claims chunks of items from one counter; the outputs
// come back in the same buffer. The opening worker runs chunks too, and blocks
// (Atomics.wait) only once none is left to claim, for the chunks others are running.
// Elsewhere, and for nested maps shorter than SHARE_ABOVE_MS, every chunk is the opening
// worker's.
import { WeftError } from './errors.mjs';

// The shared buffer: a header of Int32 slots, the first failure of a helper (index f64,
// code, status, message), a byte per item (0 not run, 1 run by a helper, 2 by the opener),
// per chunk [worker, t0, t1, at, bytes] (f64, for the trace: at/bytes locate the JSON record
// of the maps its items opened), then the inputs, the outputs, and when the map is traced
// TRACE_BYTES for those records.
const CURSOR = 0, DONE = 1, STOP = 2, FAILED = 3, ABORT = 4, TRACE_USED = 5, HEADER = 8;
const SLOTS = 5, TRACE_BYTES = 1 << 20;
const FAIL_AT = 32, MESSAGE_AT = 48, MESSAGE = 200, STATUS_AT = 256;
const CLOSED = 2 ** 30; // the cursor once the opener stopped claiming (n is below it)
// A nested map is shared only when its items would keep the opener busy this long (ms):
// sharing costs a buffer, a copy of the inputs and a few messages. The estimate is the
// task's last chunk on this worker, or else the map's first item, run before sharing; a
// first item that says "share" is checked on a second one (the faster counts): a task's
// first call here may include compiling it, or a pause the machine's load caused.
const SHARE_ABOVE_MS = 1;
const align8 = x => (x + 7) & ~7;
const epoch = t => performance.timeOrigin + t;

/** Can this thread share memory with its workers and block on it? */
export function canShareMemory() {
  return typeof SharedArrayBuffer === 'function' && typeof Atomics?.wait === 'function' &&
    globalThis.crossOriginIsolated !== false; // undefined in Node: always allowed
}

/** Items per claim: about 8 claims per worker of a 4-worker pool, at most 64. */
export function chunkSize(n) {
  return Math.max(1, Math.min(64, Math.floor(n / 32)));
}

/** Views of a nested map's shared buffer (made by the opener, read by every helper). */
function views(sab, { n, inSize, outSize, chunk, traced }) {
  const chunks = Math.ceil(n / chunk);
  const timesAt = align8(STATUS_AT + n), inAt = align8(timesAt + chunks * SLOTS * 8), outAt = align8(inAt + n * inSize);
  const traceAt = align8(outAt + n * outSize), size = traceAt + (traced ? TRACE_BYTES : 0);
  sab ??= new SharedArrayBuffer(size);
  return {
    sab, header: new Int32Array(sab, 0, HEADER), fail: new DataView(sab, FAIL_AT, STATUS_AT - FAIL_AT),
    status: new Uint8Array(sab, STATUS_AT, n), times: new Float64Array(sab, timesAt, chunks * SLOTS),
    input: new Uint8Array(sab, inAt, n * inSize), output: new Uint8Array(sab, outAt, n * outSize),
    trace: new Uint8Array(sab, traceAt, traced ? TRACE_BYTES : 0),
  };
}

/** The first helper failure wins; the others stop claiming. */
function recordFailure(v, index, code, status, message) {
  if (Atomics.compareExchange(v.header, FAILED, 0, 1) === 0) {
    v.fail.setFloat64(0, index, true);
    v.fail.setInt32(8, code, true);
    v.fail.setInt32(12, status, true);
    const bytes = new TextEncoder().encode(String(message)).subarray(0, MESSAGE - 1);
    new Uint8Array(v.fail.buffer, MESSAGE_AT, MESSAGE).fill(0).set(bytes);
  }
  Atomics.store(v.header, STOP, 1);
}

/** A worker's side: opening nested maps (Module.weftNested) and helping with others'. */
export class NestedWorker {
  /** `share`: the main thread takes nested maps (init's `nested`) and this thread can block. */
  constructor(port, instance, share) {
    this.port = port;
    this.I = instance;
    this.share = share && canShareMemory();
    this.jobs = new Map();
    this.nextId = 1;
    // While a traced batch runs: where the maps its items open and those items go, {maps,
    // openers}; a nested map's chunk has one of its own (maps opened at any level).
    this.record = null;
    this.levelBase = 0; // helping with a map of level L: this instance's level 1 is L + 1
    this.itemMs = new Map(); // task -> ms per item of its last chunk here
    instance.M.weftNested = this;
  }

  /** Run `fn` (a batch), recording its nested maps when `traced`: returns the record or undefined. */
  traced(traced, fn) {
    if (!traced) return void fn();
    this.record = { maps: [], openers: [] };
    this.I.M._weft_js_time_openers(1);
    try {
      fn();
      const r = this.record;
      return r.maps.length ? r : undefined;
    } finally {
      this.record = null;
      this.I.M._weft_js_time_openers(0);
    }
  }

  begin(task, inPtr, inSize, n, outSize, level, opener) {
    const id = this.nextId++, known = this.itemMs.get(task);
    // may share: at once when this task's items took long enough lately, else after timing item 0
    const may = this.share && n > 1 && n < CLOSED, probe = may && known === undefined;
    const job = { id, task, inPtr, n, inSize, outSize, level: level + this.levelBase, opener, probe, chunk: chunkSize(n), cursor: 0,
      t0: performance.now(), chunks: [], v: null, parent: this.record, traced: !!this.record };
    this.jobs.set(id, job);
    if (may && !probe && known * n >= SHARE_ABOVE_MS) this.publish(job);
    return id;
  }

  /** Share the items from job.cursor on: the main thread asks idle workers to help. */
  publish(job) {
    const v = job.v = views(null, job);
    v.input.set(this.I.M.HEAPU8.subarray(job.inPtr, job.inPtr + job.n * job.inSize));
    v.header[CURSOR] = job.cursor;
    v.status.fill(2, 0, job.cursor);
    this.port.post({ type: 'nested', id: job.id, sab: v.sab, task: job.task, n: job.n, inSize: job.inSize, outSize: job.outSize, chunk: job.chunk,
      traced: job.traced, level: job.level });
  }

  claim(h, firstPtr) {
    const job = this.jobs.get(h), v = job.v;
    let first, count = job.probe ? 1 : job.chunk;
    if (!v) first = job.cursor, job.cursor += count;
    else first = Atomics.load(v.header, STOP) ? CLOSED : Atomics.add(v.header, CURSOR, count);
    if (first >= job.n) return 0;
    count = Math.min(count, job.n - first);
    if (v) v.status.fill(2, first, first + count);
    if (job.traced) this.record = { maps: [], openers: [] }; // the maps this chunk's items open
    this.I.M.HEAPF64[firstPtr >> 3] = first;
    return count;
  }

  ran(h, begin, end, t0, t1) {
    const job = this.jobs.get(h), itemMs = (t1 - t0) / (end - begin);
    this.itemMs.set(job.task, itemMs);
    if (job.traced) {
      job.chunks.push([0, begin, end, epoch(t0), epoch(t1), this.record.maps.length ? this.record : undefined]);
      this.record = job.parent;
    }
    if (job.probe) {
      job.probeMs = Math.min(job.probeMs ?? Infinity, itemMs);
      const worth = job.probeMs * (job.n - job.cursor) >= SHARE_ABOVE_MS;
      if (worth && !job.probedTwice && job.cursor < job.n) {
        job.probedTwice = true; // time one more item before sharing
        return;
      }
      job.probe = false;
      if (worth) this.publish(job);
    }
  }

  /** No chunk left to claim: wait for the helpers' chunks, then copy their outputs in.
   * Returns 1 with the failure written through the pointers when a helper's item failed. */
  wait(h, outPtr, indexPtr, codePtr, statusPtr, messagePtr, messageSize) {
    const job = this.jobs.get(h), v = job.v;
    this.jobs.delete(h);
    let failed = 0;
    if (v) {
      const claimed = Math.min(Atomics.exchange(v.header, CURSOR, CLOSED), job.n);
      let local = 0;
      for (let i = 0; i < claimed; i++) local += v.status[i] === 2;
      // each helper adds its chunk's count once it is through it (run, failed or skipped)
      for (let done; (done = Atomics.load(v.header, DONE)) < claimed - local && !Atomics.load(v.header, ABORT);)
        Atomics.wait(v.header, DONE, done, 1000);
      const M = this.I.M;
      for (let i = 0; i < claimed;) {
        if (v.status[i] !== 1) { i++; continue; }
        let j = i;
        while (j < claimed && v.status[j] === 1) j++;
        if (job.outSize) M.HEAPU8.set(v.output.subarray(i * job.outSize, j * job.outSize), outPtr + i * job.outSize);
        i = j;
      }
      let why = null;
      if (Atomics.load(v.header, FAILED)) {
        const f = v.fail;
        why = { index: f.getFloat64(0, true), code: f.getInt32(8, true), status: f.getInt32(12, true),
          message: new TextDecoder().decode(new Uint8Array(v.sab, MESSAGE_AT, MESSAGE).slice()).replace(/\0.*$/s, '') };
      } else if (Atomics.load(v.header, DONE) < claimed - local) {
        // a helper stopped (terminated) with items of this map: they never ran
        let index = 0;
        while (index < claimed && v.status[index] !== 0) index++;
        why = { index, code: this.I.errnoOf('WEFT_ECRASHED'), status: 0, message: `a worker helping with this nested map stopped before item ${index} finished` };
      }
      if (why) {
        failed = 1;
        M.HEAPF64[indexPtr >> 3] = why.index;
        M.HEAP32[codePtr >> 2] = why.code;
        M.HEAP32[statusPtr >> 2] = why.status;
        M.stringToUTF8(why.message, messagePtr, messageSize);
      }
      this.port.post({ type: 'nested-end', id: h });
      if (job.traced) {
        for (let k = 0; k < v.times.length / SLOTS; k++) {
          const [w, t0, t1, at, bytes] = v.times.subarray(k * SLOTS, (k + 1) * SLOTS);
          const rec = bytes > 0 ? JSON.parse(new TextDecoder().decode(v.trace.slice(at, at + bytes))) : undefined;
          if (bytes < 0) job.lost = (job.lost ?? 0) + 1;
          if (w) job.chunks.push([w, k * job.chunk, Math.min(job.n, (k + 1) * job.chunk), t0, t1, rec]);
        }
      }
    }
    if (job.traced)
      job.parent.maps.push({ task: job.task, n: job.n, level: job.level, opener: job.opener, t0: epoch(job.t0), t1: epoch(performance.now()),
        chunks: job.chunks, lost: job.lost });
    return failed;
  }

  /** Item `index` of a traced batch opened nested maps; it ran from t0 to t1. */
  opener(index, t0, t1) {
    if (this.record) this.record.openers.push([index, epoch(t0), epoch(t1)]);
  }

  /** Chunk k's record of the maps its items opened, for the opener (bytes -1: no room left). */
  shareRecord(v, k, record) {
    const bytes = new TextEncoder().encode(JSON.stringify(record));
    const at = Atomics.add(v.header, TRACE_USED, bytes.length);
    if (at + bytes.length > v.trace.length) return void (v.times[k * SLOTS + 4] = -1);
    v.trace.set(bytes, at);
    v.times[k * SLOTS + 3] = at, v.times[k * SLOTS + 4] = bytes.length;
  }

  /**
   * Help with another worker's nested map (the broker's 'help' message): claim chunks until
   * none is left. Returns false when a task trapped: this instance is unusable, the
   * worker must leave (its failure is recorded first).
   */
  help({ sab, task, n, inSize, outSize, chunk, worker, traced, level }) {
    const v = views(sab, { n, inSize, outSize, chunk, traced });
    if (!traced) return this.helpChunks(v, task, n, inSize, outSize, chunk, worker, false);
    // traced: maps this worker's items open are level + 1, and go back through the buffer
    this.levelBase = level;
    this.I.M._weft_js_time_openers(1);
    try {
      return this.helpChunks(v, task, n, inSize, outSize, chunk, worker, true);
    } finally {
      this.record = null;
      this.levelBase = 0;
      this.I.M._weft_js_time_openers(0);
    }
  }

  helpChunks(v, task, n, inSize, outSize, chunk, worker, traced) {
    for (;;) {
      if (Atomics.load(v.header, STOP)) return true;
      const first = Atomics.add(v.header, CURSOR, chunk);
      if (first >= n) return true;
      const count = Math.min(chunk, n - first), t0 = performance.now();
      let crashed = false;
      if (traced) this.record = { maps: [], openers: [] };
      try {
        this.I.runBatch({ task, input: v.input.subarray(first * inSize, (first + count) * inSize), count, inSize, outSize, start: first },
          v.output, first * outSize);
        v.status.fill(1, first, first + count);
      } catch (e) {
        let err = e;
        if (e instanceof WeftError) {
          const ok = e.partial?.count ?? 0;
          if (ok) v.output.set(new Uint8Array(e.partial.output), first * outSize), v.status.fill(1, first, first + ok);
        } else {
          err = this.I.crashError(task, first, count, e, 'a worker helping with a nested map');
          crashed = true;
        }
        recordFailure(v, err.index >= 0 ? err.index : first, err.errno, err.status ?? 0, err.message);
      }
      const k = first / chunk;
      v.times[k * SLOTS] = worker, v.times[k * SLOTS + 1] = epoch(t0), v.times[k * SLOTS + 2] = epoch(performance.now());
      if (traced && this.record.maps.length) this.shareRecord(v, k, this.record);
      Atomics.add(v.header, DONE, count);
      Atomics.notify(v.header, DONE);
      if (crashed) return false;
    }
  }
}

/**
 * The main thread's side: the nested maps workers opened, handed to idle workers as they
 * are found (when the map opens, and whenever a worker runs out of batches).
 */
export class NestedBroker {
  constructor() {
    this.jobs = new Set();
  }

  /** `opener` (a WorkerSlot) opened a nested map (its 'nested' message). */
  open(opener, m, workers) {
    const job = { ...m, opener, header: new Int32Array(m.sab, 0, HEADER), helpers: new Set() };
    this.jobs.add(job);
    for (const w of workers) if (w !== opener) this.offer(w, job);
  }

  /** Worker `w` is idle: it may help with any open map. */
  idle(w) {
    for (const job of this.jobs) if (job.opener !== w) this.offer(w, job);
  }

  offer(w, job) {
    const left = Atomics.load(job.header, CURSOR) < job.n && !Atomics.load(job.header, STOP);
    if (!left || !w.canHelp() || job.helpers.has(w)) return;
    job.helpers.add(w);
    w.help(job);
  }

  end(opener, id) {
    for (const job of this.jobs) if (job.opener === opener && job.id === id) this.jobs.delete(job);
  }

  /** A worker is gone: maps it opened stop; maps it helped with stop waiting for it. */
  died(w) {
    for (const job of this.jobs) {
      if (job.opener === w) {
        Atomics.store(job.header, STOP, 1);
        this.jobs.delete(job);
      } else if (job.helpers.has(w)) {
        Atomics.store(job.header, ABORT, 1);
        Atomics.notify(job.header, DONE);
      }
    }
  }
}
