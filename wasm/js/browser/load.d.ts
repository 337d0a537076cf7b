// Types for the browser's load() (the package's "browser" export); every other type is
// Node's (../index.d.ts).
import type { Weft } from '../index.js';
export * from '../index.js';

export interface LoadOptions {
  /** The URL of the module's <name>.mjs (or without the extension). */
  module?: string | URL;
  /** The same as module. */
  moduleUrl?: string | URL;
  /** The .wasm's URL (default: moduleUrl ending in .wasm). */
  wasmUrl?: string | URL;
  /** false runs every call on the page's thread. */
  workers?: boolean;
  /** Past this (default 30000), or when a worker fails to start, calls run sequentially. */
  workerStartTimeoutMs?: number;
  /** false: a task's nested map always runs on its own worker. Default: idle workers help
   *  where the page is crossOriginIsolated (SharedArrayBuffer); elsewhere they cannot. */
  borrowIdleWorkers?: boolean;
}
export declare function load(options?: LoadOptions): Promise<Weft>;
