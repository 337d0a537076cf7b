// Serve the repository for the demo page: node web/serve.mjs [port] (default 8080), then
// open http://127.0.0.1:8080/web/ (web/README.md). Ordinary headers: no COOP/COEP.
import { fileURLToPath } from 'node:url';
import { serve } from './static-server.mjs';

const port = Number(process.argv[2] ?? 8080);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`usage: node web/serve.mjs [port]  (not a port: ${process.argv[2]})`);
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const { url } = await serve(root, { port });
console.log(`weft demo: ${url}/web/  (serving ${root}; Ctrl-C stops)`);
