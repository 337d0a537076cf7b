#!/usr/bin/env bash
# Install what weft's build and tests need, only what is missing; safe to run twice.
#   scripts/setup.sh          the native toolchain (demo, native tests)
#   scripts/setup.sh all      also Emscripten, WASI, OpenMP peers, Node.js, joblib (bench),
#                             numpy, pytest and pip for the Python package (tests/python),
#                             TypeScript (tsc: tests/node checks the API's types),
#                             chromium and npm's playwright-core (tests/browser), npm's
#                             pyodide (tests/pyodide), Open MPI, a one-node Slurm
#                             (slurm-wlm, munge) and mpi4py (tests/mpi, bench), doxygen
#                             (make docs: the API reference)
# It says what it installs (with dependencies), how much it downloads, and how long it
# took; apt's own output goes to build/setup-apt.log.
set -euo pipefail
cd "$(dirname "$0")/.."

native=(cmake make gcc g++ clang pkg-config libxxhash-dev libsqlite3-dev)
extra=(clang-14 lld-14 llvm-14 node-acorn emscripten wasi-libc libclang-rt-14-dev-wasm32 nodejs npm
  node-typescript clang-format python3-joblib python3-numpy python3-pytest python3-pip chromium
  openmpi-bin libopenmpi-dev slurm-wlm munge python3-mpi4py doxygen)

want=("${native[@]}")
[ "${1:-}" = all ] && want+=("${extra[@]}")

missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# Node may come from outside Debian (a node on PATH is enough).
# (its npm too: NodeSource's nodejs brings one, and conflicts with Debian's npm package).
if command -v node >/dev/null 2>&1; then
  missing=("${missing[@]/nodejs/}")
fi
if command -v npm >/dev/null 2>&1; then
  missing=("${missing[@]/npm/}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))

if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  mkdir -p build
  log=build/setup-apt.log
  echo "setup: missing ${missing[*]}"
  echo "setup: apt-get update (log: $log)"
  $sudo apt-get update -qq >"$log" 2>&1 || { cat "$log"; exit 1; }
  # what apt will install with the dependencies, and its size (apt-get -s changes nothing)
  plan=$(apt-get install -s "${missing[@]}" 2>/dev/null | awk '/^Inst /{print $2}')
  count=$(wc -w <<< "$plan")
  read -r down disk < <(apt-cache show --no-all-versions $plan 2>/dev/null |
    awk '/^Size:/{d+=$2} /^Installed-Size:/{i+=$2} END{printf "%d %d\n", d/1e6, i/1e3}')
  echo "setup: installing $count packages: about $down MB to download, $disk MB on disk" \
       "(at ~10 MB/s, about $(( (down / 10 + 30) / 60 + 1 )) min)"
  start=$SECONDS
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >>"$log" 2>&1 ||
    { tail -n 30 "$log"; echo "setup: apt-get install failed; the whole log is $log"; exit 1; }
  echo "setup: installed in $((SECONDS - start)) s"
fi

# The browser tests drive Debian's chromium with npm's playwright-core (pinned in
# tests/browser/package-lock.json; its own browser download cannot work here, and is not used).
if [ "${1:-}" = all ] && [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  echo "setup: npm install in tests/browser (playwright-core)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# Pyodide for the Python package's Pyodide engine (tests/pyodide, web/pyodide.html): npm's
# pyodide, pinned in tests/pyodide/package-lock.json (its own files only; nothing at run time).
if [ "${1:-}" = all ] && [ ! -f tests/pyodide/node_modules/pyodide/package.json ]; then
  echo "setup: npm install in tests/pyodide (pyodide)"
  (cd tests/pyodide && npm ci --no-audit --no-fund --loglevel=error)
fi
