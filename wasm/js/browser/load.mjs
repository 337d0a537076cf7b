// weft in a web page: load a module of C tasks (the <name>.mjs + <name>.wasm that
// weft_add_wasm_module builds) and get the API (weft.mjs) on a pool of module Web Workers.
//   import { load } from 'weft-parallel';                       // the "browser" export
//   const weft = await load({ moduleUrl: '/build/my_tasks.mjs' });
//   weft.backendInfo  // {backend: 'workers' | 'sequential', reason}
// Ordinary static hosting works (no COOP/COEP headers); only a nested map inside a worker
// borrowing idle workers needs SharedArrayBuffer, hence a crossOriginIsolated page.
import { Instance } from '../instance.mjs';
import { Weft, WeftError, WeftTrace } from '../weft.mjs';
import { spawnWebWorker } from './spawn.mjs';

const BUNDLED = new URL('../../dist/example_tasks.mjs', import.meta.url);
const KNOWN = new Set(['moduleUrl', 'module', 'wasmUrl', 'workers', 'workerStartTimeoutMs', 'borrowIdleWorkers']);

/** Fetch and compile the .wasm once; workers get the compiled module (structured-cloneable). */
async function compile(wasmUrl) {
  const res = await fetch(wasmUrl);
  if (!res.ok) throw new Error(`weft.load: ${wasmUrl}: HTTP ${res.status} (build the module with weft_add_wasm_module; see wasm/README.md)`);
  // streaming compilation needs the right type; a server without it still works
  if (WebAssembly.compileStreaming && /^application\/wasm\b/.test(res.headers.get('content-type') || ''))
    return WebAssembly.compileStreaming(res);
  return WebAssembly.compile(await res.arrayBuffer());
}

/** A fresh instance from the loader (an ES module URL) and the compiled module. */
export async function instantiate({ glue, compiled }) {
  const { default: factory } = await import(glue);
  let failed;
  const failure = new Promise((_, reject) => { failed = reject; });
  const Module = await Promise.race([failure, factory({
    instantiateWasm(imports, done) {
      WebAssembly.instantiate(compiled, imports).then(i => done(i), failed);
      return {};
    },
    print: line => console.log(line),
    // a task's abort() is reported as the call's error; Emscripten's own line would repeat it
    printErr: line => { if (!/^Aborted\(/.test(line)) console.warn(line); },
  })]);
  return new Instance(Module);
}

function withTimeout(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms); });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * options: moduleUrl (or module): the URL of <name>.mjs (default: the package's example
 * tasks); wasmUrl (default: the same URL ending in .wasm); workers: false runs every call
 * on the page's thread; workerStartTimeoutMs (default 30000): past it, or when the first
 * worker fails to start, calls run sequentially and a warning says why; borrowIdleWorkers:
 * false keeps a task's nested map on its worker (it borrows idle ones only where the page
 * is crossOriginIsolated: weft.features.borrowIdleWorkers, weft.nestedReason).
 */
export async function load(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('weft.load: options must be an object');
  for (const k of Object.keys(options))
    if (!KNOWN.has(k)) throw new TypeError(`weft.load: unknown option '${k}' (known: ${[...KNOWN].join(', ')})`);
  if (options.moduleUrl !== undefined && options.module !== undefined)
    throw new TypeError('weft.load: give moduleUrl or module, not both');
  const given = options.moduleUrl ?? options.module ?? BUNDLED;
  if (!(given instanceof URL) && (typeof given !== 'string' || given === ''))
    throw new TypeError('weft.load: moduleUrl must be the URL (string or URL) of a <name>.mjs built by weft_add_wasm_module');
  let name = String(given);
  if (name.endsWith('.wasm')) name = name.slice(0, -5);
  if (!name.endsWith('.mjs')) name += '.mjs'; // 'build/my_tasks' names the pair too
  const glue = new URL(name, globalThis.document?.baseURI ?? globalThis.location.href).href;
  const wasmUrl = new URL(options.wasmUrl ?? glue.replace(/\.mjs$/, '.wasm'), glue).href;
  const timeout = options.workerStartTimeoutMs ?? 30000;
  if (!Number.isFinite(timeout) || timeout <= 0) throw new RangeError('weft.load: workerStartTimeoutMs must be a positive number of ms');

  const init = { type: 'init', glue, compiled: await compile(wasmUrl) };
  const instance = await instantiate(init);
  let reason = null;
  if (typeof Worker !== 'function') reason = 'this browser has no Web Workers';
  else if (options.workers === false) reason = 'load({workers: false})';
  const weft = new Weft({
    instance,
    createInstance: () => instantiate(init),
    spawn: reason ? null : spawnWebWorker,
    noWorkersReason: reason,
    workerInit: init,
    cpus: globalThis.navigator?.hardwareConcurrency || 1,
    borrowIdleWorkers: options.borrowIdleWorkers,
    // no resolvePath: a page has no cache folders, only 'indexeddb:NAME' (weft.features.memory)
  });
  if (!reason) {
    try {
      await withTimeout(weft.pool.slots(1), timeout, 'starting a worker');
    } catch (e) {
      reason = `workers failed to start: ${e.message}`;
      weft.fallBackToSequential(reason);
      weft.pool.close().catch(() => {});
    }
  }
  if (reason) console.warn(`weft: running on the sequential backend (the page's thread): ${reason}`);
  return weft;
}

export { Weft, WeftError, WeftTrace };
