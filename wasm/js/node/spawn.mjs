// Node's port for pool.mjs: a worker_threads Worker running node/worker.mjs.
import { Worker } from 'node:worker_threads';

export function spawnNodeWorker() {
  const w = new Worker(new URL('./worker.mjs', import.meta.url));
  return {
    post: (m, transfer) => w.postMessage(m, transfer),
    onMessage: fn => w.on('message', fn),
    onExit: fn => {
      w.on('error', fn);
      w.on('exit', code => fn(new Error(`weft: a worker exited (code ${code})`)));
    },
    terminate: () => w.terminate(),
    // idle workers do not keep the process alive; busy ones do
    setActive: busy => (busy ? w.ref() : w.unref()),
  };
}
