// The Python suite's portable part (tests/python/test_portable.py) under Pyodide in Node:
//   node tests/pyodide/run-tests.mjs WHEEL [MODULE_BASE]
// and what only the Pyodide engine has (tests/pyodide/test_pyodide_only.py, and
// test_blocking.py: without JSPI the blocking forms name the async ones). Installs the
// wheel, loads tests/python/tasks.c built as a wasm module (pyodide_tasks), imports the
// test modules and runs every test_* function (pytest is not in Pyodide's
// offline files): prints one line per test and "N passed, N failed"; exit status 1 on
// any failure or when no test ran.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
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
let [passed, failed, skipped] = (await pyodide.runPythonAsync(`
import os, sys
os.environ["WEFT_PYODIDE_CACHE"] = ${JSON.stringify(cache)}
os.environ["WEFT_EXPECT_JSPI"] = "0"  # Node 20 has no JS Promise integration
sys.path[:0] = ["/weft-tests", "/weft-runner"]
import runner
await runner.run(["test_portable", "test_pyodide_only", "test_blocking"])
`)).toJs();
// the entries Python cached in Node (test_memory_folder_...) are native ones: weft's tool reads them
const tool = join(repoRoot, 'build/release/native/cli/weft');
if (existsSync(tool)) {
  const stats = execFileSync(tool, ['cache', 'stats', cache]).toString();
  if (/^py_square\s+50\s/m.test(stats)) passed++, console.log('ok   the native weft tool lists the 50 entries Python cached');
  else failed++, console.log(`FAIL the native weft tool does not list 50 py_square entries:\n${stats}`);
} else {
  console.log(`skip the native weft tool check: ${tool} is not built`);
}
await weft.close();
await rm(cache, { recursive: true, force: true });
console.log(`pyodide: ${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed || !passed ? 1 : 0);
