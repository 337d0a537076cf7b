// Types for weft's JavaScript API (wasm/README.md).

export type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array
  | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;
export type TypedArrayConstructor<T extends TypedArray = TypedArray> = {
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): T;
  readonly BYTES_PER_ELEMENT: number;
};
export type Inputs = ArrayBufferLike | ArrayBufferView | null;

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
  /** A cache folder (Node; native entry format), or 'indexeddb:NAME' (browsers). */
  memory?: string;
  /** Read-only data for tasks (weft_wasm_shared), sent once per worker. */
  shared?: ArrayBufferLike | ArrayBufferView;
}

export interface ImapOptions<T extends TypedArray = TypedArray> extends CallOptions<T> {
  /** true (default): input order; false: as batches finish. */
  ordered?: boolean;
}

export interface ReduceOptions<A, T extends TypedArray = TypedArray> extends CallOptions<T> {
  fold: (acc: A, value: T, index: number) => A;
  initial: A;
}

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
  map<T extends TypedArray = Float64Array>(task: string, inputs: Inputs, options?: CallOptions<T>): Promise<T>;
  imap<T extends TypedArray = Float64Array>(task: string, inputs: Inputs, options?: ImapOptions<T>):
    AsyncGenerator<{ index: number; value: T }, void, undefined>;
  reduce<A, T extends TypedArray = Float64Array>(task: string, inputs: Inputs, options: ReduceOptions<A, T>): Promise<A>;
  close(): Promise<void>;
  readonly backendInfo: BackendInfo;
  /** workers: whether calls run on workers; memory: the kinds of `memory` accepted here:
   *  'path' (a cache folder, Node), 'indexeddb' ('indexeddb:NAME', where indexedDB exists). */
  readonly features: { workers: boolean; memory: Array<'path' | 'indexeddb'> };
}

export interface LoadOptions {
  /** Node: a module built by weft_add_wasm_module, its path without .node.cjs / .node.wasm.
   *  Browser: the URL of its <name>.mjs (or without the extension). */
  module?: string | URL;
  /** Browser: the URL of <name>.mjs (same as module). */
  moduleUrl?: string | URL;
  /** Browser: the .wasm's URL (default: moduleUrl ending in .wasm). */
  wasmUrl?: string | URL;
  /** Browser: false runs every call on the page's thread. */
  workers?: boolean;
  /** Browser: past this (default 30000), or when a worker fails to start, calls run sequentially. */
  workerStartTimeoutMs?: number;
}
export declare function load(options?: LoadOptions): Promise<Weft>;
