// A static file server for the demo page (web/serve.mjs) and the browser tests
// (tests/browser/harness.mjs): plain HTTP on loopback, no COOP/COEP headers unless asked,
// because pages on ordinary static hosting must work.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join, extname, resolve, sep } from 'node:path';

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.cjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.css': 'text/css', '.md': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.wfa': 'application/octet-stream',
};

/** Serve `root` on 127.0.0.1 (a free port). `isolated` adds COOP/COEP (cross-origin isolation). */
export async function serve(root, { isolated = false, port = 0 } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    let path;
    try {
      path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    } catch {
      return res.writeHead(400).end(); // a malformed %-escape
    }
    const file = resolve(join(base, path.endsWith('/') ? path + 'index.html' : path));
    if (file !== base && !file.startsWith(base + sep)) return res.writeHead(403).end();
    // a folder without its slash (/web): to the folder, as static hosts do, so that the
    // page's relative URLs resolve inside it
    if (!path.endsWith('/') && (await stat(file).catch(() => null))?.isDirectory()) {
      const search = new URL(req.url, 'http://x').search;
      return res.writeHead(301, { location: encodeURI(path) + '/' + search }).end();
    }
    try {
      const body = await readFile(file);
      const headers = { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
      if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise(ok => server.listen(port, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise(ok => server.close(ok)) };
}
