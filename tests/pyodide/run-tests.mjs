// The Python suite's portable part (tests/python/test_portable.py) under Pyodide in Node:
//   node tests/pyodide/run-tests.mjs WHEEL [MODULE_BASE]
// and what only the Pyodide engine has (tests/pyodide/test_pyodide_only.py). Installs the wheel, loads tests/python/tasks.c built as a wasm module (pyodide_tasks),
// imports the test modules and runs every test_* function (pytest is not in Pyodide's
// offline files): prints one line per test and "N passed, N failed"; exit status 1 on
// any failure or when no test ran.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { boot, mount, repoRoot } from './boot.mjs';

const [wheel, module = join(repoRoot, 'build/emscripten/tests/pyodide/pyodide_tasks')] = process.argv.slice(2);
if (!wheel) {
  console.error('usage: node tests/pyodide/run-tests.mjs WHEEL [MODULE_BASE]');
  process.exit(2);
}
const { pyodide, weft } = await boot({ wheel, module });
const cache = await mkdtemp(join(tmpdir(), 'weft-pyodide-cache-'));
mount(pyodide, join(repoRoot, 'tests/python'), '/weft-tests');
mount(pyodide, join(repoRoot, 'tests/pyodide'), '/weft-runner');
const [passed, failed] = (await pyodide.runPythonAsync(`
import os, sys
os.environ["WEFT_PYODIDE_CACHE"] = ${JSON.stringify(cache)}
sys.path[:0] = ["/weft-tests", "/weft-runner"]
import runner
await runner.run(["test_portable", "test_pyodide_only"])
`)).toJs();
await weft.close();
await rm(cache, { recursive: true, force: true });
console.log(`pyodide: ${passed} passed, ${failed} failed`);
process.exit(failed || !passed ? 1 : 0);
