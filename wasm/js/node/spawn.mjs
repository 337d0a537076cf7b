// Node's port for pool.mjs: a worker_threads Worker running node/worker.mjs.
import { Worker } from 'node:worker_threads';

// Options of the main program that a worker must not get: a worker inherits the process's
// execArgv, and `node -e CODE` / `--input-type=module` there make the worker refuse to
// start (ERR_INPUT_TYPE_NOT_ALLOWED) or run the user's code again.
// (Preloads such as --require and --import are kept: workers run them too.)
const mainOnly = new Set(['-e', '--eval', '-p', '--print', '-i', '--interactive', '-c', '--check',
  '--input-type', '--test', '--watch']);
const withValue = new Set(['-e', '--eval', '-p', '--print', '--input-type']);

/** process.execArgv without the main program's own options. */
export function workerExecArgv(argv = process.execArgv) {
  const kept = [];
  for (let i = 0; i < argv.length; i++) {
    const [name] = argv[i].split('=', 1);
    if (!mainOnly.has(name)) kept.push(argv[i]);
    else if (withValue.has(name) && !argv[i].includes('=')) i++; // its value is the next one
  }
  return kept;
}

export function spawnNodeWorker() {
  const w = new Worker(new URL('./worker.mjs', import.meta.url), { execArgv: workerExecArgv() });
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
