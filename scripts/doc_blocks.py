"""Run every fenced code block of README.md and docs/*.md (scripts/test-docs.sh sets up
the environment: an installed weft, the npm package, the Python package).

    python3 scripts/doc_blocks.py [--list] [--link PATH]... WORKDIR MARKDOWN_FILE...

Each Markdown file gets a folder WORKDIR/<name>/ and its blocks run there in order, so a
block may use a file an earlier one wrote. --link PATH puts a symbolic link to PATH in
each folder (node_modules: what a user's project folder holds). What happens to a block:
  ```sh / bash / shell   run with bash -eo pipefail
  ```python              run with python3
  ```js / mjs            run with node (as an ES module)
  ```c                   needs a directive: a C example is a file built by a command
  any other language     not run (text, ts, html, cmake, json, ...)
Directives, HTML comments on the lines just before a block:
  <!-- doc-test: file NAME -->    write the block to NAME, do not run it
  <!-- doc-test: skip REASON -->  do not run the block (a fragment; REASON is required)
  <!-- doc-test: expect -->       the block is the expected output of the last block run:
                                  each of its non-empty lines must appear in that output,
                                  in this order (as substrings of its lines)
A block that exits non-zero, runs past 120 s or misses an expected line fails the run.
Shell blocks run under `set -e`, which does not stop at a failing command before `&&`:
write one command per line.
"""
import os
import re
import subprocess
import sys
import time

RUN = {"sh": "sh", "bash": "sh", "shell": "sh", "python": "py", "py": "py", "js": "js", "mjs": "js"}
DIRECTIVE = re.compile(r"<!--\s*doc-test:\s*(file|skip|expect)\b\s*(.*?)\s*-->")
TIMEOUT_S = 120


def blocks(path):
    """(line, lang, text, [(kind, arg)]) for every fenced block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^(\s*)(```+)\s*([\w+-]*)", lines[i])
        if not m:
            i += 1
            continue
        indent, fence, lang = len(m.group(1)), m.group(2), m.group(3).lower()
        directives, j = [], i - 1
        while j >= 0 and lines[j].strip().startswith("<!--"):
            directives[:0] = DIRECTIVE.findall(lines[j])
            j -= 1
        body, k = [], i + 1
        while k < len(lines) and not lines[k].strip().startswith(fence):
            body.append(lines[k][indent:] if lines[k][:indent].strip() == "" else lines[k])
            k += 1
        yield i + 1, lang, "\n".join(body) + "\n", directives
        i = k + 1


def check_expected(output, expected):
    """None when every expected line appears in order, else the first missing line."""
    out = output.split("\n")
    pos = 0
    for want in (line.strip() for line in expected.split("\n")):
        if not want:
            continue
        while pos < len(out) and want not in out[pos]:
            pos += 1
        if pos == len(out):
            return want
        pos += 1
    return None


def tail(text, limit=4000):
    """The end of an output, where the error is."""
    return text if len(text) <= limit else "[...]\n" + text[-limit:]


def run_block(kind, text, cwd, n):
    name = {"sh": f"block{n}.sh", "py": f"block{n}.py", "js": f"block{n}.mjs"}[kind]
    with open(os.path.join(cwd, name), "w") as f:
        f.write(text)
    cmd = {"sh": ["bash", "-eo", "pipefail", name], "py": [sys.executable, name], "js": ["node", name]}[kind]
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=TIMEOUT_S)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return 124, (e.stdout or b"").decode(errors="replace") + f"\n(killed after {TIMEOUT_S} s)"


def main():
    args = sys.argv[1:]
    listing, links = False, []
    while args and args[0] in ("--list", "--link"):
        if args[0] == "--list":
            listing, args = True, args[1:]
        else:
            links.append(os.path.abspath(args[1]))
            args = args[2:]
    if len(args) < 2:
        sys.exit(__doc__)
    work, files = args[0], args[1:]
    failures, counts = [], {"run": 0, "file": 0, "skip": 0, "expect": 0}
    for path in files:
        cwd = os.path.join(work, re.sub(r"[^\w.-]", "_", os.path.relpath(path)))
        os.makedirs(cwd, exist_ok=True)
        for target in links:
            link = os.path.join(cwd, os.path.basename(target))
            if not os.path.lexists(link):
                os.symlink(target, link)
        last_output, n = None, 0
        for line, lang, text, directives in blocks(path):
            where = f"{path}:{line}"
            kinds = {k: a for k, a in directives}
            n += 1
            if "skip" in kinds:
                if not kinds["skip"]:
                    failures.append(f"{where}: a skip directive needs a reason")
                counts["skip"] += 1
                if listing:
                    print(f"{where}: skip ({kinds['skip']})")
                continue
            if "file" in kinds:
                name = kinds["file"]
                if not re.fullmatch(r"[\w.-]+(/[\w.-]+)*", name or ""):
                    failures.append(f"{where}: bad file name '{name}'")
                    continue
                os.makedirs(os.path.dirname(os.path.join(cwd, name)) or cwd, exist_ok=True)
                with open(os.path.join(cwd, name), "w") as f:
                    f.write(text)
                counts["file"] += 1
                if listing:
                    print(f"{where}: file {name}")
                continue
            if "expect" in kinds:
                counts["expect"] += 1
                if listing:
                    print(f"{where}: expected output")
                    continue
                if last_output is None:
                    failures.append(f"{where}: expected output, but no block ran before it")
                    continue
                missing = check_expected(last_output, text)
                if missing is not None:
                    failures.append(f"{where}: expected output line not found: {missing!r}\n"
                                    f"--- the output was:\n{tail(last_output)}---")
                continue
            if lang == "c":
                failures.append(f"{where}: a C block needs a 'file NAME' or 'skip REASON' directive")
                continue
            kind = RUN.get(lang)
            if kind is None:
                continue
            counts["run"] += 1
            if listing:
                print(f"{where}: run ({lang})")
                continue
            start = time.monotonic()
            rc, last_output = run_block(kind, text, cwd, n)
            took = time.monotonic() - start
            print(f"docs: {where} ({lang}) {'ok' if rc == 0 else f'FAILED (exit {rc})'} {took:.1f} s",
                  flush=True)
            if rc != 0:
                failures.append(f"{where}: the {lang} block exited with {rc}\n--- block:\n{text}"
                                f"--- output:\n{tail(last_output)}---")
    print(f"docs: {counts['run']} blocks run, {counts['expect']} outputs checked, {counts['file']} files, "
          f"{counts['skip']} skipped")
    for f in failures:
        print(f"docs: FAIL {f}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
