// The worker's side of pool.mjs, for any kind of worker: instantiate the module once
// (from the compiled WebAssembly.Module the pool sends), then run batches as they come,
// and help with other workers' nested maps when asked ('help': wasm/js/nested.mjs).
import { WeftError } from './errors.mjs';
import { NestedWorker } from './nested.mjs';

// The numbers per batch in a 'batches' message's table: id, task (index into its tasks),
// count, inSize, outSize, start, input bytes; and per batch in a 'results' message's
// table: id, ms, startedAt (epoch ms), output bytes (-1: failed, see errors), and where
// they start in the message's output (a multiple of 8, so any typed array can view them).
export const BATCH = 7, RESULT = 5;
const align8 = x => (x + 7) & ~7;

/** `port`: {post(message, transfer), onMessage(fn), exit()}; `instantiate(init)` -> Instance. */
export function serve(port, instantiate) {
  let instance = null, nested = null;

  // One message's batches, in order; their results go back in one message (a crash's at
  // once): a row of RESULT numbers per batch, the outputs one after the other in one
  // buffer, and an entry in `errors` for each batch that failed (its bytes: -1).
  function runAll({ tasks, table, input, traced }) {
    const t = new Float64Array(table), n = t.length / BATCH;
    const bytes = input ? new Uint8Array(input) : null;
    // one batch: its own output buffer; more: all outputs copied into one
    let total = 0;
    for (let i = 0; i < n; i++) total = align8(total) + t[i * BATCH + 2] * t[i * BATCH + 4];
    const all = n > 1 ? new Uint8Array(total) : null;
    let output = all ? all.buffer : null;
    const rows = new Float64Array(n * RESULT), errors = [], transfer = [];
    const maps = traced ? [] : null; // per batch: the nested maps its items opened (trace)
    const send = count => {
      if (!output) output = new ArrayBuffer(0);
      port.post({ type: 'results', n: count, table: rows.buffer, output, errors, nested: maps?.some(Boolean) ? maps : undefined },
        [rows.buffer, output, ...transfer]);
    };
    for (let i = 0, at = 0, outAt = 0; i < n; i++) {
      const o = i * BATCH, size = t[o + 6], r = i * RESULT;
      const b = { task: tasks[t[o + 1]], count: t[o + 2], inSize: t[o + 3], outSize: t[o + 4], start: t[o + 5],
        input: size ? bytes.subarray(at, at + size) : null };
      rows[r] = t[o];
      try {
        outAt = align8(outAt);
        let done;
        const rec = nested.traced(traced, () => { done = instance.runBatch(b, all, outAt); });
        if (maps) maps[i] = rec;
        if (!all) output = done.output;
        rows[r + 1] = done.ms, rows[r + 2] = done.startedAt, rows[r + 3] = b.count * b.outSize, rows[r + 4] = outAt;
        outAt += b.count * b.outSize;
      } catch (e) {
        rows[r + 3] = -1;
        if (e instanceof WeftError) {
          errors.push({ error: e.toJSON(), partial: e.partial });
          if (e.partial) transfer.push(e.partial.output);
        } else {
          // a trap (out of bounds, abort) leaves the instance unusable: report it and
          // leave; the pool starts a fresh worker for the next call
          errors.push({ error: instance.crashError(b.task, b.start, b.count, e, 'its worker').toJSON(), exiting: true });
          send(i + 1);
          return port.exit();
        }
      }
      at += size;
    }
    send(n);
  }

  port.onMessage(async m => {
    if (m.type === 'init') {
      try {
        instance = await instantiate(m);
        nested = new NestedWorker(port, instance, m.nested === true);
        port.post({ type: 'ready' });
      } catch (e) {
        port.post({ type: 'fatal', message: String(e?.stack || e) });
      }
    } else if (m.type === 'shared') {
      instance.setShared(m.bytes ? new Uint8Array(m.bytes.buffer || m.bytes) : null);
    } else if (m.type === 'batches') {
      runAll(m);
    } else if (m.type === 'help') {
      if (!nested.help(m)) port.exit(); // a trap: this instance is unusable
    }
  });
}
