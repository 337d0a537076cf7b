// One instance of a compiled weft module (Emscripten), used by one thread: runs batches
// of a map through weft_js_map and reads the C side's error record. Offsets, sizes and
// error codes come from weft_js_info(), so this file holds no copy of a C struct.
import { WeftError } from './errors.mjs';

export class Instance {
  constructor(Module) {
    this.M = Module;
    this.info = JSON.parse(Module.UTF8ToString(Module._weft_js_info()));
    this.errorNames = new Map(this.info.errors.map(e => [e.errno, e.name]));
    this.names = new Map(); // task name -> its C string in the heap
    this.scratch = 0;       // one heap buffer reused for every batch's input and output
    this.scratchSize = 0;
    this.memoryPath = null;
    this.timeOrigin = performance.timeOrigin; // a getter that costs a call each time
  }

  get tasks() { return this.info.tasks; }

  cString(s) {
    let p = this.names.get(s);
    if (p === undefined) {
      const n = this.M.lengthBytesUTF8(s) + 1;
      p = this.M._malloc(n);
      if (!p) throw new RangeError('weft: out of WebAssembly memory');
      this.M.stringToUTF8(s, p, n);
      this.names.set(s, p);
    }
    return p;
  }

  reserve(bytes) {
    if (bytes <= this.scratchSize) return this.scratch;
    this.M._free(this.scratch);
    const size = Math.max(bytes, this.scratchSize * 2, 4096);
    this.scratch = this.M._malloc(size);
    this.scratchSize = this.scratch ? size : 0;
    if (!this.scratch) throw new RangeError(`weft: cannot allocate ${bytes} bytes of WebAssembly memory`);
    return this.scratch;
  }

  /** The C side's last error as a WeftError (a failing task's index is already the call's). */
  lastError(rc) {
    const L = this.info.layout.weft_error;
    const p = this.M._weft_js_last_error();
    const view = new DataView(this.M.HEAPU8.buffer, p, L.size);
    const str = ([off, size]) => {
      const bytes = this.M.HEAPU8.subarray(p + off, p + off + size);
      const end = bytes.indexOf(0);
      return new TextDecoder().decode(bytes.subarray(0, end < 0 ? size : end));
    };
    const code = this.errorNames.get(rc) || 'WEFT_UNKNOWN';
    const message = str(L.message) || this.info.errors.find(e => e.errno === rc)?.message || `error ${rc}`;
    return new WeftError(message, {
      code, errno: rc, index: Number(view.getBigInt64(L.task_index[0], true)),
      task: str(L.task_name), status: view.getInt32(L.task_status[0], true),
    });
  }

  /** A WeftError with a code from the module's error table, for failures the C side did
   * not report (a crash, a missing IndexedDB). */
  error(code, message, index = -1) {
    return new WeftError(message, { code, errno: this.errnoOf(code), index });
  }

  /** The error for a trap in a task (out of bounds, abort()): the instance is unusable
   * afterwards, but its memory still says which item was running. */
  crashError(task, start, count, e, where) {
    const index = this.M._weft_js_running_index();
    // Emscripten's words for abort() carry build advice meant for its own developers
    const what = (e?.message || String(e)).replace(/^(RuntimeError: )?/, '')
      .replace(/^Aborted\((.*)\)\. Build with -s ?ASSERTIONS.*$/s, (_, why) => why ? `abort(): ${why}` : 'abort() called');
    const item = index >= 0 ? `item ${index}` : `items [${start}, ${start + count})`;
    const err = new WeftError(`task '${task}' crashed ${where} while running ${item}: ${what}`,
      { code: 'WEFT_ECRASHED', errno: this.errnoOf('WEFT_ECRASHED'), index, task });
    return err;
  }

  errnoOf(code) { return this.info.errors.find(e => e.name === code)?.errno ?? 0; }

  /** Read-only data for tasks (weft_wasm_shared); null clears it. */
  setShared(bytes) {
    const n = bytes ? bytes.byteLength : 0;
    const p = this.M._weft_js_shared_reserve(n);
    if (n && !p) throw new RangeError(`weft: cannot allocate ${n} bytes for shared data`);
    if (n) this.M.HEAPU8.set(bytes, p);
  }

  /** Open (once per path) the disk store that memoryLookup and memoryStore go through. */
  setMemory(path) {
    if (path === this.memoryPath) return;
    const rc = this.M._weft_js_memory_open(this.cString(path));
    if (rc) throw this.lastError(rc);
    this.memoryPath = path;
  }

  /** n items looked up in the open disk Memory: {found: Uint8Array(n), all: hits' values}. */
  memoryLookup(task, input, inSize, n, outSize) {
    const inBytes = n * inSize, outBytes = n * outSize;
    const base = this.reserve(inBytes + outBytes + n + 16);
    const inPtr = base, outPtr = base + ((inBytes + 7) & ~7), foundPtr = outPtr + ((outBytes + 7) & ~7);
    if (inBytes) this.M.HEAPU8.set(input, inPtr);
    const rc = this.M._weft_js_memory_lookup(this.cString(task), inPtr, inSize, n, outPtr, outSize, foundPtr);
    if (rc) throw this.lastError(rc);
    return { found: this.M.HEAPU8.slice(foundPtr, foundPtr + n), all: this.M.HEAPU8.slice(outPtr, outPtr + outBytes) };
  }

  /** n finished items stored in the open disk Memory (each took ns). */
  memoryStore(task, input, inSize, n, output, outSize, ns) {
    const inBytes = n * inSize, outBytes = n * outSize;
    const base = this.reserve(inBytes + outBytes + 16);
    const inPtr = base, outPtr = base + ((inBytes + 7) & ~7);
    if (inBytes) this.M.HEAPU8.set(input, inPtr);
    if (outBytes) this.M.HEAPU8.set(output, outPtr);
    const rc = this.M._weft_js_memory_store(this.cString(task), inPtr, inSize, n, outPtr, outSize, ns);
    if (rc) throw this.lastError(rc);
  }

  /**
   * Run items [start, start + count) of a map: `input` holds their count * inSize bytes.
   * Returns the outputs in a new ArrayBuffer (transferable) and the time taken. Throws a
   * WeftError when a task (or weft) fails; one that names an item of the batch carries
   * `partial`, the outputs of the items before it, which ran to completion (one instance
   * runs a batch in order). With `into`, the outputs are copied there at byte `at`
   * instead, and `output` is null (one buffer for many small batches).
   */
  runBatch({ task, input, count, inSize, outSize, start }, into = null, at = 0) {
    const t0 = performance.now();
    const inBytes = count * inSize, outBytes = count * outSize;
    const name = this.cString(task);
    const base = this.reserve(inBytes + outBytes + 8);
    const inPtr = base, outPtr = base + ((inBytes + 7) & ~7);
    if (inBytes) this.M.HEAPU8.set(input, inPtr);
    const rc = this.M._weft_js_map(name, inPtr, inSize, count, outPtr, outSize, start);
    if (rc) {
      const e = this.lastError(rc);
      const done = e.index - start;
      if (done > 0 && done < count)
        e.partial = { count: done, output: this.M.HEAPU8.slice(outPtr, outPtr + done * outSize).buffer, ms: performance.now() - t0 };
      throw e;
    }
    let output = null;
    if (!into) output = this.M.HEAPU8.slice(outPtr, outPtr + outBytes).buffer;
    else if (outBytes) into.set(this.M.HEAPU8.subarray(outPtr, outPtr + outBytes), at);
    // startedAt is on the epoch clock: worker and page clocks start at different times
    return { output, ms: performance.now() - t0, startedAt: this.timeOrigin + t0 };
  }
}
