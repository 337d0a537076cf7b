// The module Web Worker's entry: serve batches from the pool (worker-core.mjs).
import { serve } from '../worker-core.mjs';
import { instantiate } from './load.mjs';

serve({
  post: (m, transfer) => self.postMessage(m, transfer),
  onMessage: fn => { self.onmessage = e => fn(e.data); },
  exit: () => { self.postMessage({ type: 'exited' }); self.close(); },
}, instantiate);
