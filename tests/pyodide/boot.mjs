// Pyodide in Node with weft's Python package: load Pyodide (npm `pyodide`, pinned in this
// folder's package-lock.json), install the weft-parallel wheel from the local file system,
// load a weft module of C tasks with weft's JS API and hand it to Python
// (weft.use_module). Used by run-tests.mjs and bench/pyodide_map.mjs.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPyodide } from 'pyodide';
import { load } from '../../wasm/js/index.mjs';

export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** {pyodide, weft}: `wheel` the .whl path, `module` a weft module's base path. */
export async function boot({ wheel, module }) {
  for (const f of [wheel, module + '.node.wasm'])
    if (!existsSync(f)) throw new Error(`pyodide boot: ${f} does not exist (scripts/test-pyodide.sh builds it)`);
  const pyodide = await loadPyodide({ stdout: s => console.log(s), stderr: s => console.error(s) });
  const site = pyodide.runPython('import site; site.getsitepackages()[0]');
  pyodide.unpackArchive(new Uint8Array(await readFile(wheel)), 'wheel', { extractDir: site });
  const weft = await load({ module });
  pyodide.registerJsModule('weft_tasks', weft);
  await pyodide.runPythonAsync(`
import weft
assert weft.engine_name == "pyodide", weft.engine_name
assert weft.__file__.startswith(${JSON.stringify(site)}), weft.__file__
weft.use_module("weft_tasks")
`);
  return { pyodide, weft };
}

/** Mount a host folder into Pyodide's file system (Node only). */
export function mount(pyodide, hostDir, at) {
  pyodide.FS.mkdirTree(at);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: hostDir }, at);
}
