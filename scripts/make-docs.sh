#!/usr/bin/env bash
# The API reference: Doxygen over the public headers (docs/api/Doxyfile) into
# build/docs/html, warnings as errors (an undocumented public function, type, field or
# macro fails it). The error codes come from one X-macro table, which doxygen does not
# expand: the table in WEFT_ERROR_MAP's comment is checked against the macro's rows here.
# Needs (apt): doxygen -- scripts/setup.sh all installs it.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v doxygen >/dev/null || { echo "make docs: doxygen is not installed (apt-get install doxygen)" >&2; exit 1; }
mkdir -p build/docs
/usr/bin/python3 - core/include/weft.h <<'PY'
import re, sys
h = open(sys.argv[1]).read()
rows = re.findall(r'X\((\w+), (-\d+), "[^"]*"\)', h)
documented = re.findall(r"\* \| WEFT_(\w+) \| (-\d+) \|", h)
if rows != documented:
    sys.exit("make docs: the code table in WEFT_ERROR_MAP's comment does not match its rows:\n"
             f"  rows:  {rows}\n  table: {documented}")
PY
doxygen docs/api/Doxyfile
echo "make docs: build/docs/html/index.html"
