// Cutting a call into batches and running them on slots (the calling thread, or workers),
// as an async generator of finished batches: automatic batch sizes, ordering, a bounded
// number of batches in flight, progress, cancellation and fail-fast errors.

/** Let the event loop run (timers, AbortSignal events) between synchronous batches. */
export function macrotask() {
  if (typeof setImmediate === 'function') return new Promise(r => setImmediate(r));
  const { port1, port2 } = new MessageChannel(); // setTimeout(0) is clamped to 4 ms in browsers
  return new Promise(r => { port1.onmessage = () => { port1.close(); r(); }; port2.postMessage(0); });
}

/**
 * The next automatic batch size after a full batch of `size` took `ms`: the native
 * policy (core/batching.h), whose numbers come from weft_js_info as `policy`.
 */
export function nextBatchSize(size, ms, policy) {
  const ns = ms * 1e6;
  if (ns < policy.growBelowNs && size < policy.max) return size * 2;
  if (ns > policy.shrinkAboveNs && size > 1) return size / 2;
  return size;
}

/** A batch's output as bytes: an ArrayBuffer of its own, or a Uint8Array viewing its
 * part of a buffer that several batches share (a worker's answer to many small batches). */
export function bytesView(output) {
  return output instanceof ArrayBuffer ? new Uint8Array(output) : output;
}

/**
 * How many batches a worker may hold after its batches took `recentNs` lately (0: not
 * known yet): the native policy's weft__queue_depth (core/batching.h).
 */
export function queueDepth(recentNs, policy) {
  if (!recentNs || recentNs >= policy.queueNs / 2) return 2;
  return Math.min(Math.floor(policy.queueNs / recentNs), policy.queueMax);
}

/** A worker's recent batch time after one took `tookNs` (weft__batch_recent). */
export function batchRecent(recentNs, tookNs) {
  return recentNs ? (3 * recentNs + tookNs) / 4 : tookNs + 1;
}

/**
 * Yields {start, count, output: ArrayBuffer or Uint8Array (bytesView)} for every batch, in
 * completion order or, with plan.ordered, in input order. `slots` run batches:
 * {run(batch) -> Promise, outstanding, capacity, window, canTake(), whenFree(fn),
 * measured?(ms, policy)} (Slot below). At most `capacity` batches per slot run, and at most
 * `window` per slot are dispatched and not yet consumed, so a slow consumer holds the slots
 * back. On abort or a failure the generator throws; batches still running are left to
 * finish and dropped (`onAbandon(slots)` may stop them).
 */
export async function* runBatches(plan, slots, { onAbandon = () => {}, batchOf, policy }) {
  const { n, signal, onProgress, onBatch } = plan;
  // batches dispatched and not yet consumed, at most (each slot's window)
  const limit = () => slots.reduce((s, x) => s + x.window, 0);
  let next = 0, pending = 0, done = 0, expected = 0, failure = null, wake = null, over = false;
  let size = plan.batchSize || 1;
  const ready = [], held = new Map(), t0 = performance.now();
  const notify = () => { const w = wake; wake = null; if (w) w(); };
  const fail = e => { if (!failure) failure = e; notify(); };
  const onAbort = () => fail(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));

  function finished(slotBatch, slot, r) {
    if (over || failure) return;
    const { start, count } = slotBatch;
    if (!plan.batchSize && count === size) size = nextBatchSize(size, r.ms, policy);
    slot.measured?.(r.ms, policy);
    done += count;
    try {
      // a timeline of who ran what: times in ms on this thread's performance.now() clock
      const began = (r.startedAt ?? performance.timeOrigin + performance.now() - r.ms) - performance.timeOrigin;
      // nested: the nested maps its items opened, when traced (wasm/js/nested.mjs)
      onBatch?.({ start, count, worker: slot.id ?? 0, startMs: began, endMs: began + r.ms, ms: r.ms, queued: n - next, nested: r.nested });
      onProgress?.({ done, total: n, elapsedMs: performance.now() - t0 });
    } catch (e) {
      return fail(e);
    }
    const b = { start, count, output: r.output, ms: r.ms };
    if (plan.ordered) held.set(start, b); else ready.push(b);
    notify();
    dispatch();
  }

  function dispatch() {
    while (!failure && !over && next < n && pending < limit()) {
      let slot = null;
      for (const s of slots) if (s.canTake() && (!slot || s.outstanding < slot.outstanding)) slot = s;
      if (!slot && slots.every(s => s.dead)) return fail(new Error('weft: every worker of this call stopped'));
      if (!slot) {
        // every slot is busy, maybe with another call's batches: go on when one frees up
        for (const s of slots) s.whenFree(dispatch);
        return;
      }
      let count = size;
      // automatic sizes shrink near the end so the last batches spread over every slot
      if (!plan.batchSize) count = Math.min(count, Math.max(1, Math.ceil((n - next) / (2 * slots.length))));
      count = Math.min(count, n - next);
      const b = { start: next, count };
      next += count;
      pending++;
      slot.run(batchOf(b.start, b.count)).then(r => finished(b, slot, r), fail);
    }
  }

  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal?.aborted) onAbort();
    dispatch();
    for (;;) {
      if (failure) throw failure;
      let b;
      if (plan.ordered) {
        b = held.get(expected);
        if (b) held.delete(expected), expected += b.count;
      } else {
        b = ready.shift();
      }
      if (b) {
        pending--;
        yield b;
        dispatch();
        continue;
      }
      if (next >= n && pending === 0) return;
      await new Promise(r => { wake = r; });
    }
  } finally {
    over = true;
    signal?.removeEventListener('abort', onAbort);
    if (next < n || pending > 0) onAbandon(slots, failure);
  }
}

/** What a slot shares: a count of batches it holds, and callbacks for when one finishes. */
export class Slot {
  constructor(capacity) {
    this.capacity = capacity;
    this.outstanding = 0;
    this.full = false;
    this.waiters = []; // each call's dispatch at most once
  }

  /**
   * Room for a batch? A slot that was full takes more once it is down to half, so a
   * worker deep in small batches is sent them half a queue at a time (one message).
   */
  canTake() {
    if (this.outstanding >= this.capacity) return !(this.full = true);
    if (this.full && this.outstanding > this.capacity / 2) return false;
    return !(this.full = false);
  }

  /** Batches it may have dispatched and not yet consumed. */
  get window() { return this.capacity; }

  whenFree(fn) { if (!this.waiters.includes(fn)) this.waiters.push(fn); }

  taken() { this.outstanding++; }

  freed() {
    this.outstanding--;
    if (!this.waiters.length) return;
    const ws = this.waiters;
    this.waiters = [];
    for (const fn of ws) fn();
  }
}
