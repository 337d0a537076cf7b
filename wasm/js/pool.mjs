// A pool of workers, each running one instance of the compiled module. Written against a
// small port interface so the same code drives Node's worker_threads and browsers' Web
// Workers; node/spawn.mjs makes Node's ports:
//   port.post(message, transfer)   port.onMessage(fn)   port.onExit(fn(error))
//   port.terminate()               port.setActive(bool)   (may keep the process alive)
import { WeftError } from './errors.mjs';
import { Slot, batchRecent, queueDepth } from './scheduler.mjs';
import { BATCH, RESULT } from './worker-core.mjs';
import { NestedBroker } from './nested.mjs';

export class WorkerPool {
  /** `spawn()` returns a port; `init` is the first message every worker gets. */
  constructor(spawn, init) {
    this.spawn = spawn;
    this.init = init;
    this.workers = [];
    this.started = 0; // numbers the workers 1, 2, ... (onBatch's `worker`; 0 is the calling thread)
    this.nested = new NestedBroker(); // nested maps workers opened (init.nested: they may)
  }

  /** The first n workers, started and ready (more are started when needed). */
  async slots(n) {
    while (this.workers.length < n) this.workers.push(new WorkerSlot(this.spawn(), this.init, this));
    const ws = this.workers.slice(0, n);
    await Promise.all(ws.map(w => w.ready));
    for (const w of ws) w.idle();
    return ws;
  }

  forget(w) {
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  /** Stop the workers busy only with an aborted call's batches (other calls keep theirs). */
  stopBusy(slots, call) {
    for (const w of slots) {
      const mine = [...w.calls.values()];
      if (mine.length && mine.every(c => c.call === call)) w.stop(new Error('weft: worker stopped after its call was cancelled'));
    }
  }

  async close() {
    const ws = this.workers.splice(0);
    await Promise.all(ws.map(w => w.stop(new Error('weft: the pool was closed'))));
  }
}

// A worker holds up to `capacity` batches (queueDepth: 2, or more while its batches take
// only microseconds), refilled half a queue at a time (Slot.canTake), so it runs one
// message's batches while the next is on its way. The batches handed to it in one turn
// of the event loop go in one message, with their inputs in one transferred buffer, and
// it answers each message with one message.
class WorkerSlot extends Slot {
  constructor(port, init, pool) {
    super(2);
    this.port = port;
    this.pool = pool;
    this.id = ++pool.started;
    this.calls = new Map();
    this.nextId = 1;
    this.sharedId = 0;  // the shared data this worker holds (0: none)
    this.shared = null; // and its bytes, for helpers of this worker's nested maps
    this.isReady = false; // its instance is up (a nested map may be offered)
    this.recentNs = 0;  // its recent batch time
    this.outbox = [];   // batches not sent yet
    this.dead = null;
    this.ready = new Promise((resolve, reject) => { this.onReady = { resolve, reject }; });
    this.ready.catch(() => {}); // a failed start is reported to the call that waits for it
    port.onMessage(m => this.receive(m));
    port.onExit(e => this.died(e));
    port.setActive(true);
    port.post(init);
  }

  receive(m) {
    if (m.type === 'ready') {
      this.port.setActive(this.outstanding > 0);
      this.isReady = true;
      this.onReady.resolve();
      return void this.pool.nested.idle(this);
    }
    if (m.type === 'fatal') return this.died(new Error(`weft: a worker could not start: ${m.message}`));
    if (m.type === 'nested') return this.pool.nested.open(this, m, this.pool.workers);
    if (m.type === 'nested-end') return this.pool.nested.end(this, m.id);
    if (m.type !== 'results') return;
    // rows of RESULT numbers; the outputs in m.output, each viewed where it is
    const t = new Float64Array(m.table);
    let failed = 0;
    for (let i = 0; i < m.n; i++) {
      const id = t[i * RESULT], bytes = t[i * RESULT + 3];
      const f = bytes < 0 ? m.errors[failed++] : null;
      const output = f ? null : m.n === 1 ? m.output : new Uint8Array(m.output, t[i * RESULT + 4], bytes);
      const call = this.calls.get(id);
      if (!call) continue;
      this.calls.delete(id);
      if (f?.exiting) {
        // a crash: the worker is leaving; out of the pool now, before its exit event, so
        // no batch (of this call or the next) is sent to it in between
        call.reject(WeftError.fromJSON(f.error));
        return void this.stop(new Error('weft: a worker stopped after a crash'));
      }
      this.freed();
      if (!f) call.resolve({ output, ms: t[i * RESULT + 1], startedAt: t[i * RESULT + 2], nested: m.nested?.[i] });
      else call.reject(Object.assign(WeftError.fromJSON(f.error), f.partial ? { partial: f.partial } : {}));
    }
    if (this.outstanding === 0) {
      this.port.setActive(false);
      this.pool.nested.idle(this);
    }
  }

  /** May help with a nested map now: started, alive, and no batch of its own. */
  canHelp() { return this.isReady && !this.dead && this.outstanding === 0; }

  /** Help with another worker's nested map, with that worker's shared data. */
  help(job) {
    this.useShared(job.opener.sharedId, job.opener.shared);
    this.port.post({ type: 'help', sab: job.sab, task: job.task, n: job.n, inSize: job.inSize, outSize: job.outSize, chunk: job.chunk, worker: this.id,
      traced: job.traced, level: job.level });
  }

  useShared(id, shared) {
    if (id === this.sharedId) return;
    // once per worker and per shared buffer, not once per batch
    this.flush();
    this.port.post({ type: 'shared', bytes: shared ? shared.bytes : null });
    this.sharedId = id;
    this.shared = shared;
  }

  /** A new call: an idle worker's depth is measured again (its last call's tasks may have
   * been tiny, this one's long: they must not queue up behind one worker). */
  idle() {
    if (this.outstanding || this.dead) return;
    this.recentNs = 0;
    this.capacity = 2;
    this.full = false;
  }

  /** Deep in small batches, it is refilled as it answers, before the consumer takes them. */
  get window() { return this.capacity > 2 ? 2 * this.capacity : this.capacity; }

  /** Its batches took `ms` lately: how many it may hold now. */
  measured(ms, policy) {
    if (this.dead) return;
    this.recentNs = batchRecent(this.recentNs, Math.round(ms * 1e6));
    this.capacity = queueDepth(this.recentNs, policy);
  }

  /** Run a batch: queued for this turn's message to the worker. */
  run(b) {
    if (this.dead) return Promise.reject(this.dead);
    this.useShared(b.shared ? b.shared.id : 0, b.shared);
    const id = this.nextId++;
    this.taken();
    this.port.setActive(true);
    if (this.outbox.push({ id, b }) === 1) queueMicrotask(() => this.flush());
    return new Promise((resolve, reject) => this.calls.set(id, { resolve, reject, call: b.call }));
  }

  /**
   * Send the queued batches in one message: a table of BATCH numbers per batch (structured
   * clone is slow for many small objects), the task names, and the inputs one after the
   * other in one transferred buffer.
   */
  flush() {
    const out = this.outbox;
    if (!out.length || this.dead) return;
    this.outbox = [];
    const tasks = [], table = new Float64Array(out.length * BATCH);
    let bytes = 0;
    for (const { b } of out) bytes += b.input ? b.input.byteLength : 0;
    const input = bytes ? new Uint8Array(bytes) : null;
    for (let i = 0, at = 0; i < out.length; i++) {
      const { id, b } = out[i], size = b.input ? b.input.byteLength : 0;
      let task = tasks.indexOf(b.task);
      if (task < 0) task = tasks.push(b.task) - 1;
      if (size) input.set(b.input, at);
      at += size;
      const o = i * BATCH;
      table[o] = id, table[o + 1] = task, table[o + 2] = b.count, table[o + 3] = b.inSize;
      table[o + 4] = b.outSize, table[o + 5] = b.start, table[o + 6] = size;
    }
    // traced: the worker reports the nested maps its items open (wasm/js/nested.mjs)
    const traced = out.some(x => x.b.traced);
    this.port.post({ type: 'batches', tasks, table: table.buffer, input: input ? input.buffer : null, traced },
      input ? [table.buffer, input.buffer] : [table.buffer]);
  }

  died(error) {
    if (this.dead) return;
    this.dead = error instanceof Error ? error : new Error(String(error));
    this.capacity = 0; // no call picks it again
    this.pool.forget(this);
    this.pool.nested.died(this);
    this.onReady.reject(this.dead);
    for (const c of this.calls.values()) c.reject(this.dead);
    this.calls.clear();
    this.outstanding = 1;
    this.freed(); // waiting calls look again (and find this worker gone)
  }

  async stop(reason) {
    this.died(reason);
    await this.port.terminate();
  }
}
