#!/usr/bin/env bash
# Install what weft's build and tests need, only what is missing; safe to run twice.
#   scripts/setup.sh          the native toolchain (demo, native tests)
#   scripts/setup.sh all      also Emscripten, WASI, OpenMP peers, Node.js, joblib (bench),
#                             numpy, pytest and pip for the Python package (tests/python),
#                             chromium and npm's playwright-core (tests/browser)
set -euo pipefail
cd "$(dirname "$0")/.."

native=(cmake make gcc g++ clang pkg-config libxxhash-dev libsqlite3-dev)
extra=(clang-14 lld-14 llvm-14 node-acorn emscripten wasi-libc libclang-rt-14-dev-wasm32 nodejs npm python3-joblib python3-numpy python3-pytest python3-pip chromium)

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
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# The browser tests drive Debian's chromium with npm's playwright-core (pinned in
# tests/browser/package-lock.json; its own browser download cannot work here, and is not used).
if [ "${1:-}" = all ] && [ ! -f tests/browser/node_modules/playwright-core/package.json ]; then
  echo "setup: npm install in tests/browser (playwright-core)"
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
