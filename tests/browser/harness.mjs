// What every browser test needs: a static file server over the repository (plain HTTP on
// loopback, no COOP/COEP headers unless asked: pages on ordinary hosting must work) and
// Debian's chromium driven headless by playwright-core. See ../shared/TOOLCHAIN.md.
import { createServer } from 'node:http';
import { readFile, mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const artifactsDir = join(repoRoot, 'build', 'browser-artifacts');

const types = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.cjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json',
  '.css': 'text/css', '.md': 'text/plain; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png', '.svg': 'image/svg+xml', '.wfa': 'application/octet-stream',
};

/** Serve `root` on 127.0.0.1 (a free port). `isolated` adds COOP/COEP (cross-origin isolation). */
export async function serve(root = repoRoot, { isolated = false } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = resolve(join(base, path.endsWith('/') ? path + 'index.html' : path));
    if (file !== base && !file.startsWith(base + sep)) return res.writeHead(403).end();
    try {
      const body = await readFile(file);
      const headers = { 'content-type': types[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' };
      if (isolated) Object.assign(headers, { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    }
  });
  await new Promise(ok => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${server.address().port}`;
  return { url, close: () => new Promise(ok => server.close(ok)) };
}

const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/**
 * A headless chromium with its own profile folder. Pass the same `profile` to a second
 * launch to see the first one's IndexedDB (a "reload" across browser restarts).
 * Returns { context, page, profile, close }; console errors are collected in `errors`.
 */
export async function launch({ profile, removeProfile = !profile } = {}) {
  profile ??= await mkdtemp(join(tmpdir(), 'weft-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.WEFT_CHROMIUM ?? '/usr/bin/chromium', args: chromiumArgs, headless: true,
  });
  const page = context.pages()[0] ?? await context.newPage();
  const errors = [];
  page.on('pageerror', e => errors.push(String(e)));
  page.on('console', m => { if (m.type() === 'error') errors.push(m.text()); });
  return {
    context, page, profile, errors,
    close: async () => {
      await context.close();
      if (removeProfile) await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Keep a screenshot of the page as a test artifact (build/browser-artifacts/NAME.png). */
export async function screenshot(page, name) {
  await mkdir(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
}
