// The worker's side of pool.mjs, for any kind of worker: instantiate the module once
// (from the compiled WebAssembly.Module the pool sends), then run batches as they come.
import { WeftError } from './errors.mjs';

/** `port`: {post(message, transfer), onMessage(fn), exit()}; `instantiate(init)` -> Instance. */
export function serve(port, instantiate) {
  let instance = null;
  port.onMessage(async m => {
    if (m.type === 'init') {
      try {
        instance = await instantiate(m);
        port.post({ type: 'ready' });
      } catch (e) {
        port.post({ type: 'fatal', message: String(e?.stack || e) });
      }
    } else if (m.type === 'shared') {
      instance.setShared(m.bytes ? new Uint8Array(m.bytes.buffer || m.bytes) : null);
    } else if (m.type === 'batch') {
      try {
        const r = instance.runBatch({ ...m, input: m.input ? new Uint8Array(m.input) : null });
        port.post({ type: 'done', id: m.id, output: r.output, ms: r.ms, startedAt: r.startedAt }, [r.output]);
      } catch (e) {
        if (e instanceof WeftError)
          return port.post({ type: 'error', id: m.id, error: e.toJSON(), partial: e.partial }, e.partial ? [e.partial.output] : []);
        // a trap (out of bounds, abort) leaves the instance unusable: report it and leave;
        // the pool starts a fresh worker for the next call
        const crash = instance.crashError(m.task, m.start, m.count, e, 'its worker');
        port.post({ type: 'error', id: m.id, error: crash.toJSON(), exiting: true });
        port.exit();
      }
    }
  });
}
