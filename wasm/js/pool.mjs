// A pool of workers, each running one instance of the compiled module. Written against a
// small port interface so the same code drives Node's worker_threads and browsers' Web
// Workers; node/spawn.mjs makes Node's ports:
//   port.post(message, transfer)   port.onMessage(fn)   port.onExit(fn(error))
//   port.terminate()               port.setActive(bool)   (may keep the process alive)
import { WeftError } from './errors.mjs';
import { Slot } from './scheduler.mjs';

export class WorkerPool {
  /** `spawn()` returns a port; `init` is the first message every worker gets. */
  constructor(spawn, init) {
    this.spawn = spawn;
    this.init = init;
    this.workers = [];
    this.started = 0; // numbers the workers 1, 2, ... (onBatch's `worker`; 0 is the calling thread)
  }

  /** The first n workers, started and ready (more are started when needed). */
  async slots(n) {
    while (this.workers.length < n) this.workers.push(new WorkerSlot(this.spawn(), this.init, this));
    const ws = this.workers.slice(0, n);
    await Promise.all(ws.map(w => w.ready));
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

class WorkerSlot extends Slot {
  constructor(port, init, pool) {
    super(2); // one batch running, one waiting: no idle time between batches
    this.port = port;
    this.pool = pool;
    this.id = ++pool.started;
    this.calls = new Map();
    this.nextId = 1;
    this.sharedId = 0;  // the shared data this worker holds (0: none)
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
      return this.onReady.resolve();
    }
    if (m.type === 'fatal') return this.died(new Error(`weft: a worker could not start: ${m.message}`));
    const call = this.calls.get(m.id);
    if (!call) return;
    this.calls.delete(m.id);
    if (m.exiting) {
      // a crash: the worker is leaving; out of the pool now, before its exit event, so
      // no batch (of this call or the next) is sent to it in between
      call.reject(WeftError.fromJSON(m.error));
      return void this.stop(new Error('weft: a worker stopped after a crash'));
    }
    this.freed();
    if (this.outstanding === 0) this.port.setActive(false);
    if (m.type === 'done') call.resolve({ output: m.output, ms: m.ms, startedAt: m.startedAt });
    else call.reject(Object.assign(WeftError.fromJSON(m.error), m.partial ? { partial: m.partial } : {}));
  }

  /** Run a batch: its input bytes are copied once into a buffer that is transferred. */
  run(b) {
    if (this.dead) return Promise.reject(this.dead);
    const sharedId = b.shared ? b.shared.id : 0;
    if (sharedId !== this.sharedId) {
      // once per worker and per shared buffer, not once per batch
      this.port.post({ type: 'shared', bytes: b.shared ? b.shared.bytes : null });
      this.sharedId = sharedId;
    }
    const input = b.input ? b.input.slice().buffer : null;
    const id = this.nextId++;
    this.taken();
    this.port.setActive(true);
    this.port.post({ type: 'batch', id, task: b.task, input, count: b.count, inSize: b.inSize,
      outSize: b.outSize, start: b.start }, input ? [input] : []);
    return new Promise((resolve, reject) => this.calls.set(id, { resolve, reject, call: b.call }));
  }

  died(error) {
    if (this.dead) return;
    this.dead = error instanceof Error ? error : new Error(String(error));
    this.capacity = 0; // no call picks it again
    this.pool.forget(this);
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
