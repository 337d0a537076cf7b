#!/usr/bin/env node
// weft-build: your C tasks (files using WEFT_TASK) into a module for this package's
// JavaScript API, with emcc and the weft core the package ships (lib/libweft.a, built for
// Emscripten): the same flags as CMake's weft_add_wasm_module (cmake/weft-emcc-flags.json).
//   npx weft-build tasks.c [more.c ...] -o my_tasks[.mjs] [--node-only] [emcc flags: -I -D -O ...]
// makes my_tasks.node.cjs + .node.wasm (Node) and my_tasks.mjs + .wasm (browsers).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const usage = `usage: weft-build TASKS.c... -o OUT[.mjs] [--node-only] [emcc flags]
  Builds OUT.node.cjs + OUT.node.wasm (Node: load({module: 'OUT'})) and, unless
  --node-only, OUT.mjs + OUT.wasm (browsers: load({moduleUrl: 'OUT.mjs'})).
  Other arguments starting with '-' (-I, -D, -O, ...) go to emcc. Needs emcc on PATH (or $EMCC).
`;
const pkg = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function fail(message) {
  process.stderr.write(`weft-build: ${message}\n`);
  process.exit(2);
}

const sources = [], extra = [];
let out = null, nodeOnly = false;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '-h' || a === '--help') {
    process.stdout.write(usage);
    process.exit(0);
  } else if (a === '-o') {
    if (i + 1 >= args.length) fail('-o needs a file name');
    out = args[++i];
  } else if (a === '--node-only') nodeOnly = true;
  else if (a.startsWith('-')) extra.push(a);
  else sources.push(a);
}
if (!sources.length || !out) {
  process.stderr.write(usage);
  process.exit(2);
}
for (const s of sources) if (!existsSync(s)) fail(`${s} does not exist`);
const base = out.replace(/\.(mjs|js|cjs|wasm)$/, '').replace(/\.node$/, '');

const flags = JSON.parse(readFileSync(join(pkg, 'cmake', 'weft-emcc-flags.json'), 'utf8'));
const emcc = process.env.EMCC || 'emcc';
// Emscripten 3.1's optimiser (any -O1 and up link) needs the acorn module: Debian's
// node-acorn keeps it in /usr/share/nodejs.
const env = { ...process.env };
if (existsSync('/usr/share/nodejs/acorn'))
  env.NODE_PATH = ['/usr/share/nodejs', env.NODE_PATH].filter(Boolean).join(delimiter);

const flavours = nodeOnly ? ['node'] : ['node', 'web'];
for (const flavour of flavours) {
  const file = flavour === 'node' ? `${base}.node.cjs` : `${base}.mjs`;
  const argv = [...sources, `-I${join(pkg, 'include')}`, ...extra, join(pkg, 'lib', 'libweft.a'),
    ...flags.common, ...flags[flavour], '-o', file];
  const r = spawnSync(emcc, argv, { stdio: 'inherit', env });
  if (r.error) fail(r.error.code === 'ENOENT' ? `${emcc} not found: install Emscripten (Debian: apt-get install emscripten) or set EMCC` : r.error.message);
  if (r.status !== 0) fail(`emcc failed (exit ${r.status}) building ${file}`);
  console.log(`weft-build: ${file} + ${file.replace(/\.(node\.cjs|mjs)$/, flavour === 'node' ? '.node.wasm' : '.wasm')}`);
}
