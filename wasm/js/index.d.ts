// Types for weft's JavaScript API in Node (wasm/README.md); browser/load.d.ts has the
// browser's load(). tests/node/package.test.mjs checks them with `tsc --strict` on code
// that must compile and code that must not.

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array
  | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
export type TypedArrayConstructor<T extends TypedArray = TypedArray> = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
};
export type Inputs = ArrayBufferLike | ArrayBufferView | null;
/** A call's result type without `out`: the inputs' typed-array type, else Uint8Array. */
export type DefaultOut<I> = I extends TypedArray ? I : Uint8Array;

export interface Progress {
  done: number;
  total: number;
  elapsedMs: number;
  /** With `memory`: items served from the cache so far. */
  hits?: number;
  misses?: number;
}

export interface BatchInfo {
  /** Items [start, start + count). */
  start: number;
  count: number;
  /** 1, 2, ... a pool worker; 0 the calling thread (the sequential backend). */
  worker: number;
  /** When it ran, in ms on the calling thread's performance.now() clock. */
  startMs: number;
  endMs: number;
  ms: number;
  /** Items of the call no worker has been given yet. */
  queued: number;
  /** With `memory`: the index in the call of item `start` (the call runs its misses only). */
  firstIndex?: number;
}

export interface BackendInfo {
  /** Where 'workers' calls run: 'sequential' where workers are missing or failed to start. */
  backend: 'workers' | 'sequential';
  /** Why not workers (null when they run). */
  reason: string | null;
}

export interface CallOptions<T extends TypedArray = TypedArray> {
  /** Bytes per input item (default: the inputs' element size; 0 with `n` for no input). */
  inSize?: number;
  /** Bytes per output item (default: inSize). */
  outSize?: number;
  /** Result type (default: the inputs' typed-array type, else Uint8Array). */
  out?: TypedArrayConstructor<T>;
  /** Item count, needed only without inputs. */
  n?: number;
  backend?: 'sequential' | 'workers';
  /** -1 all CPUs, -2 all but one, N > 0. */
  nJobs?: number;
  /** 0: automatic (batches of ~1 ms). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** After every batch: which worker ran it, and when (a per-worker timeline). */
  onBatch?: (b: BatchInfo) => void;
  /** A cache folder (Node; native entry format), or 'indexeddb:NAME' (browsers only). */
  memory?: string;
  /** Read-only data for tasks (weft_wasm_shared), sent once per worker. */
  shared?: ArrayBufferLike | ArrayBufferView;
  /** Record the call in a WeftTrace, or (Node) write its trace to this file when it ends
   * (Chrome trace-event JSON: Perfetto UI, chrome://tracing; docs/tracing.md). */
  trace?: WeftTrace | string;
}

/** Chrome trace-event JSON of the calls given it as options.trace (docs/tracing.md). */
export declare class WeftTrace {
  constructor(options?: { label?: string });
  /** The events so far (trace-event objects). */
  readonly events: object[];
  /** {traceEvents, displayTimeUnit, otherData}: what Perfetto UI and chrome://tracing open. */
  toJSON(): { traceEvents: object[]; displayTimeUnit: string; otherData: object };
  toString(): string;
}

export interface ImapOptions<T extends TypedArray = TypedArray> extends CallOptions<T> {
  /** true (default): input order; false: as batches finish. */
  ordered?: boolean;
}

export interface ReduceOptions<A, T extends TypedArray = TypedArray> extends CallOptions<T> {
  fold: (acc: A, value: T, index: number) => A;
  initial: A;
}

/** Options with `out` (the result type), and without. */
export type WithOut<O, T extends TypedArray> = O & { out: TypedArrayConstructor<T> };
export type NoOut<O> = O & { out?: undefined };

export interface ErrorInfo { name: string; errno: number; message: string; }

export declare class WeftError extends Error {
  /** 'WEFT_ETASK', 'WEFT_EOUTSIZE', ... (the C error table). */
  code: string;
  errno: number;
  /** The failing item's index in the whole call, or -1. */
  index: number;
  task: string;
  status: number;
}

export interface CacheStats {
  entries: number;
  bytes: number;
  tasks: Record<string, { entries: number; bytes: number; version: string }>;
}
export interface ImportStats { imported: number; skipped: number; corrupt: number; stale: number; }

/** weft.memory('indexeddb:NAME'): an IndexedDB cache. */
export interface IndexedDBMemory {
  readonly name: string;
  stats(): Promise<CacheStats>;
  /** Every entry, or one task's. */
  clear(task?: string): Promise<void>;
  /** An archive (docs/cache-format.md §7), as `weft cache export` writes. */
  export(task?: string): Promise<ArrayBuffer>;
  /** Entries of an archive (e.g. from `weft cache export`); corrupt and stale ones skipped. */
  import(archive: ArrayBuffer | ArrayBufferView): Promise<ImportStats>;
}

export declare class Weft {
  memory(spec: `indexeddb:${string}`): IndexedDBMemory;
  readonly tasks: string[];
  readonly version: string;
  readonly errors: ErrorInfo[];
  /** Outputs in the type `out` names, else the inputs' own typed-array type (Uint8Array
   *  for an ArrayBuffer, a DataView or no inputs). (Overloads, not one generic: a generic
   *  result type would be inferred from what the caller assigns it to.) */
  map<I extends Inputs>(task: string, inputs: I, options?: NoOut<CallOptions<DefaultOut<I>>>): Promise<DefaultOut<I>>;
  map<T extends TypedArray>(task: string, inputs: Inputs, options: WithOut<CallOptions<T>, T>): Promise<T>;
  imap<I extends Inputs>(task: string, inputs: I, options?: NoOut<ImapOptions<DefaultOut<I>>>):
    AsyncGenerator<{ index: number; value: DefaultOut<I> }, void, undefined>;
  imap<T extends TypedArray>(task: string, inputs: Inputs, options: WithOut<ImapOptions<T>, T>):
    AsyncGenerator<{ index: number; value: T }, void, undefined>;
  reduce<A, I extends Inputs>(task: string, inputs: I, options: NoOut<ReduceOptions<A, DefaultOut<I>>>): Promise<A>;
  reduce<A, T extends TypedArray>(task: string, inputs: Inputs, options: WithOut<ReduceOptions<A, T>, T>): Promise<A>;
  close(): Promise<void>;
  readonly backendInfo: BackendInfo;
  /** workers: whether calls run on workers; memory: the kinds of `memory` accepted here:
   *  'path' (a cache folder, Node), 'indexeddb' ('indexeddb:NAME', where indexedDB exists);
   *  borrowIdleWorkers: whether a task's nested map borrows the pool's idle workers. */
  readonly features: { workers: boolean; memory: Array<'path' | 'indexeddb'>; borrowIdleWorkers: boolean };
  /** Why nested maps do not borrow idle workers here (no SharedArrayBuffer, or the option); null when they do. */
  readonly nestedReason: string | null;
}

/** Node's load(): the browser's options (moduleUrl, wasmUrl, workers, ...) are not here. */
export interface LoadOptions {
  /** A module built by weft_add_wasm_module or weft-build: its path without .node.cjs /
   *  .node.wasm (default: the package's example tasks). */
  module?: string;
  /** false: a task's nested map always runs on its own worker (default true: idle workers help). */
  borrowIdleWorkers?: boolean;
}
export declare function load(options?: LoadOptions): Promise<Weft>;
