"""Where libweft.so is: next to the package, $WEFT_LIBRARY, or pkg-config.

The first that exists wins; when none does, the error lists every path tried, so a user
sees at once which one to fix.
"""
import os
import shutil
import subprocess

LIBRARY_NAME = "libweft.so"


def _pkg_config_libdir():
    exe = shutil.which("pkg-config")
    if not exe:
        return None, "pkg-config: not installed"
    try:
        done = subprocess.run([exe, "--variable=libdir", "weft"], capture_output=True,
                              text=True, timeout=10)
    except (OSError, subprocess.SubprocessError) as e:
        return None, f"pkg-config: {e}"
    if done.returncode != 0:
        return None, "pkg-config: no weft.pc on PKG_CONFIG_PATH"
    return done.stdout.strip(), None


def candidates():
    """(path, how) pairs in the order they are tried."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = [(os.path.join(here, LIBRARY_NAME), "next to the package")]
    env = os.environ.get("WEFT_LIBRARY")
    if env:
        path = os.path.abspath(os.path.join(env, LIBRARY_NAME) if os.path.isdir(env) else env)
        out.append((path, "$WEFT_LIBRARY"))
    return out


def find_library():
    """The path of libweft.so, or OSError naming every place tried."""
    tried = []
    for path, how in candidates():
        if os.path.isfile(path):
            return path
        tried.append(f"{path} ({how})")
    if not os.environ.get("WEFT_LIBRARY"):
        tried.append("$WEFT_LIBRARY (not set)")
    libdir, why = _pkg_config_libdir()
    if libdir:
        path = os.path.join(libdir, LIBRARY_NAME)
        if os.path.isfile(path):
            return path
        tried.append(f"{path} (pkg-config weft libdir)")
    else:
        tried.append(why)
    raise OSError("weft: cannot find libweft.so; tried:\n  " + "\n  ".join(tried) +
                  "\nBuild it (cmake --preset release && cmake --build --preset release) and "
                  "set WEFT_LIBRARY to the .so or its folder, or install weft so pkg-config "
                  "finds weft.pc.")
