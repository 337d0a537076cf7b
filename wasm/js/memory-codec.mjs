// The cache's bytes for a Memory kept on the JS side (IndexedDB): keys, entries, checks
// and archive cleaning come from the C core through one instance (wasm/src/weft_js_memory.c),
// so they are byte for byte the native ones (docs/cache-format.md). No format here.
const ID_MAX = 1024; // "task\0version\0" of a checked entry

export const hex = b => Array.from(b, x => x.toString(16).padStart(2, '0')).join('');

export class MemoryCodec {
  /** @param {import('./instance.mjs').Instance} instance  the calling thread's */
  constructor(instance) {
    this.I = instance;
    this.M = instance.M;
    this.sizeT = instance.info.layout.size_t;
  }

  /** A WeftError with a code from the module's error table. */
  error(code, message) { return this.I.error(code, message); }

  /** Run fn(alloc) with heap buffers that are freed afterwards; alloc(bytes|size) -> ptr. */
  withHeap(fn) {
    const ptrs = [];
    const alloc = x => {
      const bytes = typeof x === 'number' ? null : x;
      const n = bytes ? bytes.byteLength : x;
      const p = this.M._malloc(Math.max(n, 8));
      if (!p) throw new RangeError(`weft: cannot allocate ${n} bytes of WebAssembly memory`);
      ptrs.push(p);
      if (bytes) this.M.HEAPU8.set(bytes, p);
      return p;
    };
    try {
      return fn(alloc);
    } finally {
      for (const p of ptrs) this.M._free(p);
    }
  }

  check(rc) {
    if (rc < 0) throw this.I.lastError(rc);
    return rc;
  }

  /** Two zeroed heap words for a (data, size) pair the C side hands over. */
  pair(alloc) {
    const pp = alloc(16);
    this.M.HEAPU8.fill(0, pp, pp + 16);
    return [pp, pp + 8];
  }

  /** A malloc'd (data, size) pair the C side handed over: copied out, then freed (null: none). */
  takeBuffer(pp, ps) {
    const H = () => new DataView(this.M.HEAPU8.buffer);
    const p = H().getUint32(pp, true);
    if (!p) return null;
    const n = this.sizeT === 8 ? Number(H().getBigUint64(ps, true)) : H().getUint32(ps, true);
    const out = this.M.HEAPU8.slice(p, p + n);
    this.M._free(p);
    return out;
  }

  /** The keys of n items of inSize bytes (`input`), as lower-case hex strings. */
  keys(task, input, inSize, n) {
    return this.withHeap(alloc => {
      const inPtr = alloc(input ? input.subarray(0, n * inSize) : 0), keys = alloc(16 * n);
      this.check(this.M._weft_js_memory_keys(this.I.cString(task), inPtr, inSize, n, keys));
      const all = this.M.HEAPU8.subarray(keys, keys + 16 * n);
      return Array.from({ length: n }, (_, i) => hex(all.subarray(16 * i, 16 * i + 16)));
    });
  }

  /** One item's entry (header, then its value `output`) as weft__memo_store makes it. */
  entry(task, input, output, computeNs) {
    return this.withHeap(alloc => {
      const inPtr = alloc(input), outPtr = alloc(output), [pp, ps] = this.pair(alloc);
      this.check(this.M._weft_js_memory_entry(this.I.cString(task), inPtr, input.byteLength, outPtr,
        output.byteLength, computeNs, pp, ps));
      return this.takeBuffer(pp, ps);
    });
  }

  /**
   * Check an entry as every reader does (header, checksums, and the task and key when
   * given): {task, version, key, valueOffset}, or null when it is corrupt.
   */
  describe(bytes, task = null, keyHex = null) {
    return this.withHeap(alloc => {
      const key = keyHex ? alloc(Uint8Array.from(keyHex.match(/../g), h => parseInt(h, 16))) : 0;
      const b = alloc(bytes), id = alloc(ID_MAX), keyOut = alloc(16);
      const at = this.M._weft_js_memory_check(task === null ? 0 : this.I.cString(task), key, b,
        bytes.byteLength, id, ID_MAX, keyOut);
      if (at < 0) return null;
      const [t, v] = new TextDecoder().decode(this.M.HEAPU8.subarray(id, id + ID_MAX)).split('\0');
      return { task: t, version: v, key: hex(this.M.HEAPU8.subarray(keyOut, keyOut + 16)), valueOffset: at };
    });
  }

  /**
   * An archive's valid entries (the core's import checks them), each {bytes, task,
   * version, key}; counts {imported, skipped, corrupt}; `error` when the archive is
   * damaged (the entries before the damage are still given, as natively).
   */
  readArchive(archive) {
    return this.withHeap(alloc => {
      const a = alloc(archive), stats = alloc(24), [pp, ps] = this.pair(alloc);
      const rc = this.M._weft_js_archive_clean(a, archive.byteLength, stats, pp, ps);
      const error = rc < 0 ? this.I.lastError(rc) : null;
      const clean = this.takeBuffer(pp, ps);
      if (!clean) throw error;
      const s = new Float64Array(this.M.HEAPU8.slice(stats, stats + 24).buffer);
      return { entries: this.entriesOf(clean), imported: s[0], skipped: s[1], corrupt: s[2], error };
    });
  }

  /** An archive (docs §7) of entries' bytes, as `weft cache export` writes one. */
  archiveOf(entries) {
    const size = 32 + entries.reduce((s, e) => s + 8 + e.byteLength, 0);
    const out = new Uint8Array(size), v = new DataView(out.buffer);
    out.set(new TextEncoder().encode('WEFTARC\x1a'));
    v.setUint32(8, 1, true); // archive version 1, then a zero word
    let at = 16;
    for (const e of entries) {
      v.setBigUint64(at, BigInt(e.byteLength), true);
      out.set(e, at + 8);
      at += 8 + e.byteLength;
    }
    v.setBigUint64(at + 8, BigInt(entries.length), true); // the end: u64 0, u64 count
    return out;
  }

  /** The entries of an archive the core wrote (docs §7 framing: u64 size, bytes; u64 0). */
  entriesOf(clean) {
    const v = new DataView(clean.buffer, clean.byteOffset, clean.byteLength), out = [];
    for (let at = 16; ; ) {
      const size = Number(v.getBigUint64(at, true));
      if (size === 0) return out;
      const bytes = clean.slice(at + 8, at + 8 + size);
      out.push({ bytes, ...this.describe(bytes) });
      at += 8 + size;
    }
  }
}
