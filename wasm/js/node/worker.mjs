// The worker_threads entry: serve batches from the pool (worker-core.mjs).
import { parentPort } from 'node:worker_threads';
import { serve } from '../worker-core.mjs';
import { instantiate } from './load.mjs';

serve({
  post: (m, transfer) => parentPort.postMessage(m, transfer),
  onMessage: fn => parentPort.on('message', fn),
  exit: () => process.exit(1),
}, instantiate);
