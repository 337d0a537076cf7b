// The JavaScript API: map, imap and reduce over registered C tasks, on the calling thread
// ('sequential') or a pool of workers ('workers'). Environment-free: the entry points
// (index.mjs for Node) hand it an instance maker and a worker spawner.
import { makePlan, bytesOf } from './options.mjs';
import { runBatches, macrotask, Slot, bytesView } from './scheduler.mjs';
import { WorkerPool } from './pool.mjs';
import { WeftError } from './errors.mjs';
import { Memories, memoryBatches, supportsIndexedDB } from './memory.mjs';
import { WeftTrace } from './trace.mjs';
import { canShareMemory } from './nested.mjs';

export class Weft {
  /**
   * @param {object} env  instance: the calling thread's Instance; createInstance(): a
   *   fresh one (after a crash); spawn(): a worker port; workerInit: the workers' first
   *   message; cpus: CPUs for nJobs < 0; borrowIdleWorkers: false keeps nested maps on
   *   their worker; resolvePath(p): an absolute cache path (absent
   *   where there are no cache folders: a browser)
   */
  constructor(env) {
    this.env = env;
    this.main = Promise.resolve(env.instance); // see mainInstance()
    this.info = env.instance.info;
    // a nested map inside a worker borrows the pool's idle workers where memory can be
    // shared (wasm/js/nested.mjs); else it runs on its own worker (nestedReason says why)
    this.nestedReason = env.borrowIdleWorkers === false ? 'load({borrowIdleWorkers: false})'
      : !canShareMemory() ? 'no SharedArrayBuffer here (a page needs cross-origin isolation: COOP and COEP headers)' : null;
    this.pool = new WorkerPool(env.spawn, { ...env.workerInit, nested: !this.nestedReason });
    this.sharedIds = new WeakMap();
    this.nextSharedId = 1;
    this.sequential = this.sequentialSlot();
    /** Where 'workers' calls run: {backend: 'workers'|'sequential', reason} (reason: why not workers). */
    this.backendInfo = { backend: env.spawn ? 'workers' : 'sequential', reason: env.noWorkersReason ?? null };
    this.memories = new Memories(() => this.mainInstance());
  }

  /** The calling thread's instance: the first one, or a fresh one after a crash dropped it
   * (one promise, so calls that ask at once share one instance). */
  mainInstance() {
    if (!this.main) {
      const p = this.main = this.env.createInstance();
      p.catch(() => { if (this.main === p) this.main = null; }); // a failed start is retried
    }
    return this.main;
  }

  /** What this environment offers: workers, the kinds of `memory` it accepts
   * ('path': a cache folder, Node; 'indexeddb': 'indexeddb:NAME', where IndexedDB exists),
   * and whether a nested map inside a worker borrows idle workers (nestedReason: why not). */
  get features() {
    const memory = this.env.resolvePath ? ['path'] : [];
    if (supportsIndexedDB()) memory.push('indexeddb');
    return { workers: this.backendInfo.backend === 'workers', memory, borrowIdleWorkers: !this.nestedReason };
  }

  /** Run every later call on the calling thread (the environment has no working workers). */
  fallBackToSequential(reason) {
    this.backendInfo = { backend: 'sequential', reason };
  }

  /** An IndexedDB cache ('indexeddb:NAME'): {stats(), clear(task?), export(task?), import(archive)}. */
  memory(spec) { return this.memories.handle(spec); }

  /** Names of the tasks built into the module. */
  get tasks() { return [...this.info.tasks]; }
  /** The C library's version and error table ({name, errno, message}). */
  get version() { return this.info.version; }
  get errors() { return this.info.errors.map(e => ({ ...e })); }

  plan(call, task, inputs, options) {
    const resolvePath = this.env.resolvePath ?? (p => {
      throw new RangeError(`weft.${call}: memory '${p}' is not supported by this build (weft.features.memory: [${this.features.memory.join(', ')}])`);
    });
    const plan = makePlan(call, task, inputs, options, { tasks: this.info.tasks, cpus: this.env.cpus, resolvePath });
    // no workers here: 'workers' calls run sequentially (backendInfo.reason says why)
    if (plan.backend === 'workers' && this.backendInfo.backend !== 'workers') plan.backend = 'sequential', plan.nJobs = 1;
    return plan;
  }

  /** Every output, in input order, in one typed array (options.out; default: the inputs' type). */
  async map(task, inputs, options) {
    const plan = this.plan('map', task, inputs, options);
    plan.ordered = false; // each batch lands in its place whatever the order
    const out = new Uint8Array(plan.n * plan.outSize);
    for await (const b of this.batches(plan)) out.set(bytesView(b.output), b.start * plan.outSize);
    return new plan.Out(out.buffer);
  }

  /**
   * An async iterator of {index, value}: value is a typed array (options.out) viewing the
   * item's output. options.ordered (default true): input order; false: as batches finish.
   * Breaking out of the loop stops the call.
   */
  imap(task, inputs, options) {
    return this.items(this.plan('imap', task, inputs, options));
  }

  async *items(plan) {
    const per = plan.outSize / plan.Out.BYTES_PER_ELEMENT;
    for await (const b of this.batches(plan)) {
      const o = bytesView(b.output);
      for (let i = 0; i < b.count; i++)
        yield { index: b.start + i, value: new plan.Out(o.buffer, o.byteOffset + i * plan.outSize, per) };
    }
  }

  /**
   * Fold every output in input order: acc = fold(acc, value, index), from options.initial.
   * In input order, so the result is the same for any nJobs, backend and batch size.
   */
  async reduce(task, inputs, options = {}) {
    if (typeof options?.fold !== 'function') throw new TypeError('weft.reduce: options.fold must be a function (acc, value, index) => acc');
    if (!('initial' in options)) throw new TypeError('weft.reduce: options.initial (the starting accumulator) is required');
    const plan = this.plan('reduce', task, inputs, options);
    plan.ordered = true;
    let acc = options.initial;
    for await (const { index, value } of this.items(plan)) acc = options.fold(acc, value, index);
    return acc;
  }

  /** The batches of a plan ({start, count, output: ArrayBuffer}), in input order when
   * plan.ordered. map, imap and the Python package's Pyodide engine (one await per batch,
   * not per item) read them: plan(call, task, inputs, options) then batches(plan). */
  async *batches(plan) {
    if (plan.trace && !plan.traceCall) return yield* this.traced(plan);
    if (plan.n === 0) {
      if (plan.signal?.aborted) throw plan.signal.reason;
      return;
    }
    if (plan.memory) return yield* memoryBatches(await this.memories.cache(plan.memory), plan, p => this.batches(p));
    const shared = plan.shared ? this.sharedOf(plan.shared) : null;
    const call = {}; // tags this call's batches
    const batchOf = (start, count) => ({
      call, task: plan.task, count, start, inSize: plan.inSize, outSize: plan.outSize, shared, traced: !!plan.traceCall,
      input: plan.inSize ? plan.input.subarray(start * plan.inSize, (start + count) * plan.inSize) : null,
    });
    if (plan.backend === 'sequential') {
      yield* runBatches(plan, [this.sequential], { batchOf, policy: this.info.batching });
    } else {
      const slots = await this.pool.slots(plan.nJobs);
      // a long task cannot be interrupted: after an abort its worker is replaced instead
      const onAbandon = (s, failure) => { if (failure && failure.name === 'AbortError') this.pool.stopBusy(s, call); };
      yield* runBatches(plan, slots, { batchOf, onAbandon, policy: this.info.batching });
    }
  }

  /** A call with options.trace: its slice, batches, cache events and failure recorded in
   * the WeftTrace, or (a path, Node) in one written to the file when the call ends. */
  async *traced(plan) {
    let trace = plan.trace;
    if (typeof trace === 'string' && !this.env.writeFile)
      throw new TypeError('weft: trace as a file path needs Node; here pass a WeftTrace and save trace.toJSON()');
    if (typeof trace === 'string') trace = new WeftTrace();
    const call = trace.beginCall(plan.task, plan.n, plan.backend);
    const inner = { ...plan, trace, traceCall: call, onBatch: b => { trace.batch(call, b); plan.onBatch?.(b); } };
    let error = null;
    try {
      yield* this.batches(inner);
    } catch (e) {
      error = e;
      throw e;
    } finally {
      trace.endCall(call, error);
      if (typeof plan.trace === 'string') await this.env.writeFile(plan.trace, trace.toString());
    }
  }

  /** Shared data gets an id per buffer object, so each worker receives it once. */
  sharedOf(x) {
    let s = this.sharedIds.get(x);
    if (!s) {
      s = { id: this.nextSharedId++, bytes: bytesOf(x, 'shared').slice() };
      this.sharedIds.set(x, s);
    }
    return s;
  }

  /** The calling thread as a slot: one batch at a time, letting the event loop run. */
  sequentialSlot() {
    const self = this;
    let lastYield = performance.now(), sharedId = 0;
    const slot = new Slot(1);
    slot.run = async function run(b) {
        this.taken();
        try {
          if (performance.now() - lastYield > 4) {
            await macrotask(); // abort events and timers get their turn
            lastYield = performance.now();
          }
          const main = await self.mainInstance();
          const id = b.shared ? b.shared.id : 0;
          if (id !== sharedId) main.setShared(b.shared ? b.shared.bytes : null), sharedId = id;
          try {
            return main.runBatch(b);
          } catch (e) {
            if (e instanceof WeftError) throw e;
            self.main = null, sharedId = 0; // a trap: start a fresh instance next time
            throw main.crashError(b.task, b.start, b.count, e, 'the module');
          }
        } finally {
          this.freed();
        }
    };
    return slot;
  }

  /** Stop the workers (idle workers never keep Node alive, so this is optional). */
  async close() {
    await this.pool.close();
  }
}

export { WeftError, WeftTrace };
