// Checking what a caller passed: every mistake is a TypeError or RangeError that says
// what was wrong, before any work starts.
import { parseMemory } from './memory.mjs';

const KNOWN = new Set(['inSize', 'outSize', 'n', 'out', 'nJobs', 'backend', 'batchSize',
  'signal', 'onProgress', 'onBatch', 'memory', 'shared', 'ordered', 'fold', 'initial', 'trace']);
const TYPED = [Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array,
  Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array];

function isInt(x) { return typeof x === 'number' && Number.isSafeInteger(x); }

/** The bytes of a buffer or view (no copy). */
export function bytesOf(x, what) {
  if (x instanceof ArrayBuffer || (typeof SharedArrayBuffer !== 'undefined' && x instanceof SharedArrayBuffer))
    return new Uint8Array(x);
  if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  throw new TypeError(`weft: ${what} must be an ArrayBuffer or a typed array / DataView, not ${describe(x)}`);
}

function describe(x) {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an Array (use a typed array, e.g. Float64Array.from(array))';
  return typeof x === 'object' ? (x.constructor?.name || 'an object') : typeof x;
}

/**
 * Turn (task, inputs, options) into a plan. `defaults` gives nJobs/backend when unset;
 * `cpus` resolves negative nJobs like joblib (-1 all CPUs, -2 all but one).
 */
export function makePlan(call, task, inputs, options, { tasks, cpus, resolvePath }) {
  if (typeof task !== 'string' || task === '')
    throw new TypeError(`weft.${call}: the task must be a non-empty string (a registered task's name), not ${describe(task)}`);
  if (!tasks.includes(task))
    throw new RangeError(`weft.${call}: no task named '${task}' is built into this module (it has: ${tasks.join(', ')})`);
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object')
    throw new TypeError(`weft.${call}: options must be an object, not ${describe(options)}`);
  for (const k of Object.keys(options))
    if (!KNOWN.has(k)) throw new TypeError(`weft.${call}: unknown option '${k}'`);

  const input = inputs === null || inputs === undefined ? null : bytesOf(inputs, 'inputs');
  const elem = ArrayBuffer.isView(inputs) && !(inputs instanceof DataView) ? inputs.BYTES_PER_ELEMENT : 1;
  const inSize = options.inSize ?? (input ? elem : 0);
  if (!isInt(inSize) || inSize < 0) throw new RangeError(`weft.${call}: inSize must be a whole number of bytes >= 0, not ${inSize}`);

  let n;
  if (input && inSize > 0) {
    if (input.byteLength % inSize)
      throw new RangeError(`weft.${call}: inputs hold ${input.byteLength} bytes, not a whole number of ${inSize}-byte items`);
    n = input.byteLength / inSize;
    if (options.n !== undefined && options.n !== n)
      throw new RangeError(`weft.${call}: n is ${options.n} but inputs hold ${n} items of ${inSize} bytes`);
  } else {
    n = options.n;
    if (!isInt(n) || n < 0)
      throw new RangeError(`weft.${call}: without inputs (or with inSize 0), give the item count n (a whole number >= 0), not ${n}`);
    if (input && input.byteLength) throw new RangeError(`weft.${call}: inSize 0 with non-empty inputs`);
  }

  const Out = options.out ?? (ArrayBuffer.isView(inputs) && !(inputs instanceof DataView) ? inputs.constructor : Uint8Array);
  if (!TYPED.includes(Out)) throw new TypeError(`weft.${call}: out must be a typed array constructor (e.g. Float64Array)`);
  const outSize = options.outSize ?? inSize;
  if (!isInt(outSize) || outSize < 0) throw new RangeError(`weft.${call}: outSize must be a whole number of bytes >= 0, not ${outSize}`);
  if (outSize % Out.BYTES_PER_ELEMENT)
    throw new RangeError(`weft.${call}: outSize ${outSize} is not a whole number of ${Out.name} elements (${Out.BYTES_PER_ELEMENT} bytes)`);
  if (n * Math.max(outSize, inSize) > 2 ** 31)
    throw new RangeError(`weft.${call}: ${n} items of ${Math.max(outSize, inSize)} bytes do not fit in WebAssembly memory (2 GiB)`);

  const backend = options.backend ?? 'workers';
  if (backend !== 'sequential' && backend !== 'workers')
    throw new RangeError(`weft.${call}: backend must be 'sequential' or 'workers', not ${JSON.stringify(backend)}`);
  const nJobsIn = options.nJobs ?? -1;
  if (!isInt(nJobsIn) || nJobsIn === 0)
    throw new RangeError(`weft.${call}: nJobs must be a non-zero whole number (-1 all CPUs, -2 all but one, N > 0), not ${nJobsIn}`);
  const nJobs = backend === 'sequential' ? 1 : (nJobsIn > 0 ? nJobsIn : Math.max(1, cpus + 1 + nJobsIn));
  if (nJobs > 256) throw new RangeError(`weft.${call}: nJobs ${nJobs} is more workers than weft starts (256 at most)`);

  const batchSize = options.batchSize ?? 0;
  if (!isInt(batchSize) || batchSize < 0)
    throw new RangeError(`weft.${call}: batchSize must be 0 (automatic) or a whole number of items, not ${batchSize}`);

  const signal = options.signal ?? null;
  if (signal !== null && (typeof signal !== 'object' || typeof signal.aborted !== 'boolean' || typeof signal.addEventListener !== 'function'))
    throw new TypeError(`weft.${call}: signal must be an AbortSignal`);
  const onProgress = options.onProgress ?? null;
  if (onProgress !== null && typeof onProgress !== 'function')
    throw new TypeError(`weft.${call}: onProgress must be a function`);
  const onBatch = options.onBatch ?? null;
  if (onBatch !== null && typeof onBatch !== 'function')
    throw new TypeError(`weft.${call}: onBatch must be a function`);
  let memory = options.memory ?? null;
  if (memory !== null) {
    if (typeof memory !== 'string' || memory === '')
      throw new TypeError(`weft.${call}: memory must be a cache folder's path or 'indexeddb:NAME' (a non-empty string)`);
    memory = parseMemory(memory, call) ?? resolvePath(memory);
  }
  const shared = options.shared === undefined || options.shared === null ? null : options.shared;
  if (shared !== null) bytesOf(shared, 'shared');
  const ordered = options.ordered ?? true;
  if (typeof ordered !== 'boolean') throw new TypeError(`weft.${call}: ordered must be true or false`);

  // trace: a WeftTrace that records the call, or (Node) a file the call's trace is written to
  const trace = options.trace ?? null;
  if (trace !== null && typeof trace !== 'string' && typeof trace?.beginCall !== 'function')
    throw new TypeError(`weft.${call}: trace must be a WeftTrace or a file path, not ${describe(trace)}`);
  if (trace === '') throw new TypeError(`weft.${call}: trace must be a WeftTrace or a file path, not an empty string`);

  return { task, input, n, inSize, outSize, Out, backend, nJobs, batchSize, signal, onProgress, onBatch, memory, shared, ordered, trace };
}
