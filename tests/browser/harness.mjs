// What every browser test needs: a static file server over the repository (plain HTTP on
// loopback, no COOP/COEP headers unless asked: pages on ordinary hosting must work) and
// Debian's chromium driven headless by playwright-core (its own browser download is not used).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { serve as serveStatic } from '../../web/static-server.mjs';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const artifactsDir = join(repoRoot, 'build', 'browser-artifacts');

/** Serve `root` (default: the repository) on 127.0.0.1; `isolated` adds COOP/COEP. */
export function serve(root = repoRoot, options) {
  return serveStatic(root, options);
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

/**
 * A test file's page setup: before its tests, check that `module` (its path from the
 * repository without .mjs) is built, serve the repository and launch chromium; after
 * them, close both. Returns {server, browser}, filled in by the time tests run.
 */
export function useBrowser(module) {
  const env = { server: null, browser: null };
  before(async () => {
    assert.ok(existsSync(join(repoRoot, module + '.mjs')), `${module}.mjs is missing: run scripts/test-browser.sh (it builds it)`);
    env.server = await serve();
    env.browser = await launch();
  });
  after(async () => { await env.browser?.close(); await env.server?.close(); });
  return env;
}

/** Keep a screenshot of the page as a test artifact (build/browser-artifacts/NAME.png). */
export async function screenshot(page, name) {
  await mkdir(artifactsDir, { recursive: true });
  await page.screenshot({ path: join(artifactsDir, `${name}.png`), fullPage: true });
}
