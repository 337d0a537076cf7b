// Node: find a module's files, compile the wasm once, and make instances of it. A module
// built by weft_add_wasm_module is <base>.node.cjs (Emscripten's loader, CommonJS, with
// the real file system) and <base>.node.wasm.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Instance } from '../instance.mjs';

const require = createRequire(import.meta.url);

/** `module`: the base path ('build/x/my_tasks'), or either file's path. */
export async function loadModuleFiles(module) {
  if (typeof module !== 'string' || module === '')
    throw new TypeError('weft.load: module must be the path of a module built by weft_add_wasm_module');
  const base = resolve(module.replace(/\.node\.(cjs|wasm)$/, ''));
  const glue = base + '.node.cjs', wasm = base + '.node.wasm';
  for (const f of [glue, wasm])
    if (!existsSync(f)) throw new Error(`weft.load: ${f} does not exist (build it with weft_add_wasm_module; see wasm/README.md)`);
  return { glue, compiled: await WebAssembly.compile(await readFile(wasm)) };
}

/** A fresh instance from the loader and the compiled module (no file read, no compile). */
export async function instantiate({ glue, compiled }) {
  const factory = require(glue);
  const Module = await factory({
    // Emscripten 3.1's loader fetch()es a file path, which fails under Node >= 18
    instantiateWasm(imports, done) {
      WebAssembly.instantiate(compiled, imports).then(i => done(i));
      return {};
    },
    print: line => process.stdout.write(line + '\n'),
    // a task's abort() is reported as the call's error; Emscripten's own line would repeat it
    printErr: line => { if (!/^Aborted\(/.test(line)) process.stderr.write(line + '\n'); },
  });
  return new Instance(Module);
}
