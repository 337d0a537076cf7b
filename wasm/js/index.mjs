// weft for Node.js: load a module of C tasks and get the API (weft.mjs).
//   import { load } from 'weft-parallel';
//   const weft = await load();                        // the package's example tasks
//   const mine = await load({ module: 'build/my_tasks' }); // your own (weft_add_wasm_module)
//   borrowIdleWorkers: false keeps a task's nested map on its worker (docs/nested.md)
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModuleFiles, instantiate } from './node/load.mjs';
import { spawnNodeWorker } from './node/spawn.mjs';
import { writeFile } from 'node:fs/promises';
import { Weft, WeftError, WeftTrace } from './weft.mjs';

const BUNDLED = fileURLToPath(new URL('../dist/example_tasks', import.meta.url));

export async function load(options = {}) {
  if (options === null || typeof options !== 'object') throw new TypeError('weft.load: options must be an object');
  for (const k of Object.keys(options))
    if (k !== 'module' && k !== 'borrowIdleWorkers') throw new TypeError(`weft.load: unknown option '${k}'`);
  if (options.borrowIdleWorkers !== undefined && typeof options.borrowIdleWorkers !== 'boolean')
    throw new TypeError('weft.load: borrowIdleWorkers must be true or false');
  const files = await loadModuleFiles(options.module ?? BUNDLED);
  const instance = await instantiate(files);
  return new Weft({
    instance,
    createInstance: () => instantiate(files),
    spawn: spawnNodeWorker,
    workerInit: { type: 'init', glue: files.glue, compiled: files.compiled },
    cpus: availableParallelism(),
    borrowIdleWorkers: options.borrowIdleWorkers,
    resolvePath: p => resolve(p),
    writeFile: (p, text) => writeFile(p, text),
  });
}

export { Weft, WeftError, WeftTrace };
