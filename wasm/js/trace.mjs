// A trace of JS calls in the Chrome trace-event JSON format the C library writes
// (core/trace.c; docs/tracing.md), so Perfetto UI, chrome://tracing and
// `weft trace summary` read both: one track per worker (tid 0 is the calling thread),
// a slice per call and per batch (args: its index range), a task slice for one-item
// batches (workers time batches, not items), cache lookups and stores, failures, and
// counters of queued and finished items, and the nested maps a worker's items open, at
// any level (as nested call slices, their chunks on the tracks of the workers that ran
// them, with flow arrows). Times are µs on the calling thread's
// performance.now() clock; workers' batches arrive already converted to it.

const PID = 1; // one JS realm: one process in the trace

export class WeftTrace {
  /** `label`: the process's name in viewers. */
  constructor({ label = 'weft (JavaScript)' } = {}) {
    this.events = [];
    this.label = label;
    this.named = new Set();
    this.lastEnd = new Map(); // tid -> end (µs) of its last batch slice
    this.nextCall = 1;
    this.nextFlow = 1;
    this.meta('process_name', 0, label);
  }

  meta(name, tid, value) {
    this.events.push({ ph: 'M', name, pid: PID, tid, args: { name: value } });
  }

  track(worker) {
    if (!this.named.has(worker)) {
      this.named.add(worker);
      this.meta('thread_name', worker, worker === 0 ? 'calling thread' : `worker ${worker}`);
    }
    return worker;
  }

  /** A call starts on the calling thread; returns its handle for the other methods. */
  beginCall(task, n, backend) {
    return { id: this.nextCall++, task, n, backend, t0: performance.now(), done: 0 };
  }

  /** A batch finished: b is runBatches' onBatch record ({start, count, worker, startMs,
   * endMs, queued}); firstIndex: its first item's index in the call (a cached call runs
   * only its misses). */
  batch(call, b) {
    const tid = this.track(b.worker ?? 0);
    let ts = b.startMs * 1000, end = b.endMs * 1000;
    if (tid === 0) ts = Math.max(ts, call.t0 * 1000); // the calling thread's slices nest in the call
    // A worker runs one batch at a time, but its times are converted from the worker's clock
    // and pages get coarsened timers (100 µs and more): a start up to 1 ms before the
    // previous batch's end on the same track is rounding, so it starts at that end.
    const last = this.lastEnd.get(tid);
    if (last !== undefined && ts < last && ts > last - 1000) ts = last;
    end = Math.max(end, ts);
    this.lastEnd.set(tid, end);
    const first = b.firstIndex ?? b.start;
    const args = { call: call.id, begin: b.start, end: b.start + b.count, first_index: first, level: 0 };
    this.events.push({ ph: 'X', cat: 'batch', name: `${call.task} [${b.start}, ${b.start + b.count})`, pid: PID, tid, ts, dur: end - ts, args });
    if (b.count === 1)
      this.events.push({ ph: 'X', cat: 'task', name: `${call.task} #${first}`, pid: PID, tid, ts, dur: end - ts, args: { call: call.id, index: first, code: 0 } });
    if (b.nested) this.nestedMaps(call, b, tid, ts, end);
    call.done += b.count;
    const now = end;
    this.events.push({ ph: 'C', name: 'queue depth', pid: PID, tid: 0, ts: now, args: { queued: b.queued ?? 0 } });
    this.events.push({ ph: 'C', name: 'items done', pid: PID, tid: 0, ts: now, args: { done: call.done + (call.hits ?? 0) } });
  }

  /**
   * The nested maps a worker's batch opened (b.nested: wasm/js/nested.mjs; times in epoch
   * ms): the opening item's task slice, the nested call inside it, and each chunk as a
   * batch on the track of the worker that ran it, with a flow arrow from the opener; a
   * chunk whose items opened maps of their own (any level) holds them the same way. Each
   * slice is kept inside its parent ([lo, hi]: the batch): workers' clocks are converted.
   */
  nestedMaps(call, b, tid, lo, hi) {
    const offset = (b.firstIndex ?? b.start) - b.start; // a cached call runs only its misses
    this.nestedIn(call.id, call.task, b.nested, tid, lo, hi, offset, b.count === 1);
  }

  /** `rec` ({openers, maps}): what items of call `callId` opened on track tid within [lo, hi];
   * `whole`: the one item is the whole slice (its task slice exists already). */
  nestedIn(callId, task, rec, tid, lo, hi, offset, whole) {
    const us = e => (e - performance.timeOrigin) * 1000;
    const clamp = (x, a, z) => Math.min(Math.max(x, a), z);
    const openers = new Map();
    for (const [index, t0, t1] of rec.openers) {
      let s = clamp(us(t0), lo, hi), e = clamp(us(t1), s, hi);
      if (whole) s = lo, e = hi;
      else this.events.push({ ph: 'X', cat: 'task', name: `${task} #${index + offset}`, pid: PID, tid, ts: s, dur: e - s, args: { call: callId, index: index + offset, code: 0 } });
      openers.set(index, [s, e]);
    }
    for (const m of rec.maps) {
      const [os, oe] = openers.get(m.opener) ?? [lo, hi];
      const id = this.nextCall++, s = clamp(us(m.t0), os, oe), e = clamp(us(m.t1), s, oe);
      const args = { call: id, parent: callId, opened_by: m.opener + offset, items: m.n, served: 0, level: m.level, backend: 'workers' };
      if (m.lost) args.lost_chunk_records = m.lost; // no room left in the shared buffer
      this.events.push({ ph: 'X', cat: 'call', name: `map ${m.task}`, pid: PID, tid, ts: s, dur: e - s, args });
      for (const [worker, begin, end, t0, t1, inner] of m.chunks) {
        const on = this.track(worker || tid), cs = clamp(us(t0), s, e), ce = clamp(us(t1), cs, e), flow = this.nextFlow++;
        this.events.push({ ph: 's', cat: 'nested', name: 'nested map', id: flow, pid: PID, tid, ts: cs });
        this.events.push({ ph: 'X', cat: 'batch', name: `${m.task} [${begin}, ${end})`, pid: PID, tid: on, ts: cs, dur: ce - cs,
          args: { call: id, begin, end, first_index: begin, level: m.level } });
        this.events.push({ ph: 'f', bp: 'e', cat: 'nested', name: 'nested map', id: flow, pid: PID, tid: on, ts: cs });
        if (inner) this.nestedIn(id, m.task, inner, on, cs, ce, 0, false);
      }
    }
  }

  /** A cache lookup found `hits` of the call's items. */
  lookup(call, hits, misses) {
    call.hits = hits;
    this.instant(hits && !misses ? 'cache hit' : 'cache miss', 'cache', { hits, misses });
  }

  instant(name, cat, args, tid = 0) {
    this.track(tid);
    this.events.push({ ph: 'i', s: 't', cat, name, pid: PID, tid, ts: performance.now() * 1000, args });
  }

  /** The call ended (error: why it failed, or null). */
  endCall(call, error) {
    this.track(0);
    if (error?.name === 'WeftError')
      this.instant(error.code === 'WEFT_ECRASHED' ? 'worker crashed' : 'task failed', 'failure',
        { index: error.index, code: error.errno ?? 0, message: String(error.message).slice(0, 200) });
    const t1 = performance.now();
    this.events.push({ ph: 'X', cat: 'call', name: `map ${call.task}`, pid: PID, tid: 0, ts: call.t0 * 1000, dur: (t1 - call.t0) * 1000,
      args: { call: call.id, parent: 0, opened_by: -1, items: call.n, served: call.hits ?? 0, level: 0, backend: call.backend } });
  }

  /** The trace as Chrome's JSON object format. */
  toJSON() {
    return { displayTimeUnit: 'ms', otherData: { producer: 'weft-js' }, traceEvents: this.events };
  }

  toString() { return JSON.stringify(this.toJSON()); }
}
