#!/usr/bin/env python3
"""Build the weft-parallel wheel (py3-none-any) with the standard library alone.

    python3 python/build_wheel.py [OUT_DIR]      (default: python/dist)

Prints the wheel's path. The package is pure Python: libweft.so is found at run time
(next to the package, $WEFT_LIBRARY, or pkg-config), so one wheel serves every platform.
"""
import base64
import hashlib
import os
import sys
import zipfile

NAME = "weft_parallel"         # the distribution weft-parallel, normalised for file names
DIST_NAME = "weft-parallel"
HERE = os.path.dirname(os.path.abspath(__file__))


def version():
    with open(os.path.join(HERE, "weft", "__init__.py")) as f:
        for line in f:
            if line.startswith("__version__"):
                return line.split("=")[1].strip().strip("\"'")
    raise SystemExit("build_wheel: no __version__ in weft/__init__.py")


def metadata(ver):
    with open(os.path.join(HERE, "README.md")) as f:
        readme = f.read()
    return (f"Metadata-Version: 2.1\nName: {DIST_NAME}\nVersion: {ver}\n"
            "Summary: joblib's Parallel, delayed and Memory over weft's C library: parallel "
            "maps of C tasks, streaming, reducers and a cache shared with C\n"
            "Requires-Python: >=3.8\nLicense: MIT\nProvides-Extra: numpy\n"
            "Requires-Dist: numpy; extra == \"numpy\"\n"
            "Description-Content-Type: text/markdown\n\n" + readme)


def record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}"


def package_files():
    root = os.path.join(HERE, "weft")
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                full = os.path.join(folder, name)
                yield os.path.relpath(full, HERE).replace(os.sep, "/"), full


def build(out_dir):
    ver = version()
    os.makedirs(out_dir, exist_ok=True)
    info = f"{NAME}-{ver}.dist-info"
    wheel = os.path.join(out_dir, f"{NAME}-{ver}-py3-none-any.whl")
    records = []
    # fixed timestamps: the same sources give the same wheel, byte for byte
    stamp = (2020, 1, 1, 0, 0, 0)
    with zipfile.ZipFile(wheel + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
        def add(arcname, data):
            zi = zipfile.ZipInfo(arcname, stamp)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            z.writestr(zi, data)
            records.append(record_line(arcname, data))
        for arcname, full in package_files():
            with open(full, "rb") as f:
                add(arcname, f.read())
        add(f"{info}/METADATA", metadata(ver).encode())
        add(f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: weft build_wheel.py\n"
                             b"Root-Is-Purelib: true\nTag: py3-none-any\n")
        add(f"{info}/top_level.txt", b"weft\n")
        records.append(f"{info}/RECORD,,")
        data = ("\n".join(records) + "\n").encode()
        zi = zipfile.ZipInfo(f"{info}/RECORD", stamp)
        zi.external_attr = 0o644 << 16
        z.writestr(zi, data)
    os.replace(wheel + ".tmp", wheel)
    return wheel


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "dist")))
