// The browser's port for pool.mjs: a module Web Worker running browser/worker.mjs. Plain
// postMessage (structured clone + transfer): no SharedArrayBuffer, so no COOP/COEP needed.
const WORKER_URL = new URL('./worker.mjs', import.meta.url);

export function spawnWebWorker() {
  const w = new Worker(WORKER_URL, { type: 'module' });
  let onExit = () => {};
  let onMessage = () => {};
  w.onmessage = e => {
    // a worker cannot signal its own end to the page: it says so before self.close()
    if (e.data?.type === 'exited') return onExit(new Error('weft: a worker stopped after a crash'));
    onMessage(e.data);
  };
  w.onerror = e => {
    e.preventDefault?.(); // reported to the waiting call instead of the console
    onExit(new Error(`weft: a worker failed: ${e.message || 'its script did not load (see the network panel)'}`));
  };
  w.onmessageerror = () => onExit(new Error('weft: a message from a worker could not be read'));
  return {
    post: (m, transfer) => w.postMessage(m, transfer),
    onMessage: fn => { onMessage = fn; },
    onExit: fn => { onExit = fn; },
    terminate: () => w.terminate(),
    setActive: () => {}, // a page's workers never keep anything alive
  };
}
