#!/usr/bin/python3
"""weft's Python package against joblib, side by side in one run, one table.

    /usr/bin/python3 bench/python_vs_joblib.py [--quick]

Needs the release build (cmake --preset release && cmake --build --preset release: it
loads build/release/libweft.so, libweft_examples.so and tests/python/libweft_pytasks.so)
and Debian's python3-joblib and python3-numpy. Rows:
  a. 100 000 tiny Python calls: weft.Parallel (threads) vs joblib.Parallel (threading, loky)
  b. 16 numpy-heavy calls (a sort of 2M floats each; numpy releases the GIL)
  c. the same work as a C task with weft.map vs in Python with joblib.Parallel: pi_darts
     (examples/wasm-tasks/tasks.c) and its line-for-line Python twin, same results checked
  d. weft.Memory vs joblib.Memory: a hit with a small argument, a hit with a 200 MB array,
     a miss + store; and the 200 MB hit against weft's C API (weft_memory_call through
     ctypes, Memory.call_task) -- targets: hits >= 20x faster than joblib, the 200 MB hit
     within 1.5x of the C API.
n_jobs is weft.cpu_count() everywhere (2 on a 2-vCPU machine).
"""
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD = os.path.join(ROOT, "build", "release")
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("WEFT_LIBRARY", BUILD)

import joblib  # noqa: E402
import numpy as np  # noqa: E402

import weft  # noqa: E402

QUICK = "--quick" in sys.argv
N_JOBS = weft.cpu_count()
N_TINY = 10_000 if QUICK else 100_000
N_HEAVY = 16
HEAVY_SIZE = 500_000 if QUICK else 2_000_000
N_PI = 40 if QUICK else 200
BIG = (20 if QUICK else 200) * 1000 * 1000 // 8


def tiny(x):
    return x + 1


def heavy(seed):
    a = np.random.default_rng(seed).random(HEAVY_SIZE)
    return float(np.sort(a)[HEAVY_SIZE // 2])


def pi_darts_py(seed):
    """examples/wasm-tasks/tasks.c's pi_darts, line for line: the same bits."""
    m = (1 << 64) - 1
    s, inside = seed, 0
    for _ in range(10000):
        s = (s + 0x9e3779b97f4a7c15) & m
        z = s
        z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & m
        z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & m
        z ^= z >> 31
        x, y = z >> 43, (z >> 22) & 0x1fffff
        inside += x * x + y * y < (1 << 42)
    return 4.0 * inside / 10000.0


def timed(fn, reps=1):
    best, value = float("inf"), None
    for _ in range(reps):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


rows = []  # (row, what, weft seconds, [(peer, seconds)], target or "")


def unit(seconds, per):
    v = seconds / per
    if v < 1e-6:
        return f"{v * 1e9:.0f} ns"
    return f"{v * 1e6:.1f} us" if v < 1e-3 else (f"{v * 1e3:.1f} ms" if v < 1 else f"{v:.2f} s")


def add(row, what, weft_s, peers, per=1, target=""):
    rows.append((row, what, weft_s, peers, per, target))
    cells = "  ".join(f"{name} {unit(s, per)} ({s / weft_s:.1f}x)" for name, s in peers)
    print(f"  {row} {what}: weft {unit(weft_s, per)}  {cells}", flush=True)


def bench_parallel():
    calls = [joblib.delayed(tiny)(i) for i in range(N_TINY)]
    wcalls = [weft.delayed(tiny)(i) for i in range(N_TINY)]
    w, wr = timed(lambda: weft.Parallel(n_jobs=N_JOBS, backend="threads")(wcalls))
    t, tr = timed(lambda: joblib.Parallel(n_jobs=N_JOBS, backend="threading")(calls))
    lk, lr = timed(lambda: joblib.Parallel(n_jobs=N_JOBS, backend="loky")(calls))
    assert wr == tr == lr
    add("a", f"{N_TINY} tiny Python calls", w,
        [("joblib threading", t), ("joblib loky", lk)], per=N_TINY)

    ws, _ = timed(lambda: weft.Parallel(backend="sequential")(wcalls))
    add("a'", f"{N_TINY} tiny calls, weft sequential vs a plain loop", ws,
        [("list comprehension", timed(lambda: [tiny(i) for i in range(N_TINY)])[0])],
        per=N_TINY)

    hw, hr = timed(lambda: weft.Parallel(n_jobs=N_JOBS, backend="threads")(
        weft.delayed(heavy)(i) for i in range(N_HEAVY)), reps=2)
    ht, htr = timed(lambda: joblib.Parallel(n_jobs=N_JOBS, backend="threading")(
        joblib.delayed(heavy)(i) for i in range(N_HEAVY)), reps=2)
    hl, hlr = timed(lambda: joblib.Parallel(n_jobs=N_JOBS, backend="loky")(
        joblib.delayed(heavy)(i) for i in range(N_HEAVY)), reps=2)
    hs, hsr = timed(lambda: [heavy(i) for i in range(N_HEAVY)])
    assert hr == htr == hlr == hsr
    add("b", f"{N_HEAVY} numpy sorts of {HEAVY_SIZE} floats", hw,
        [("joblib threading", ht), ("joblib loky", hl), ("serial", hs)])


def bench_c_task():
    seeds = np.arange(N_PI, dtype=np.uint64)
    w, wr = timed(lambda: weft.map("pi_darts", seeds, out_dtype="f8", n_jobs=N_JOBS,
                                   backend="threads"), reps=3)
    lk, lr = timed(lambda: joblib.Parallel(n_jobs=N_JOBS, backend="loky")(
        joblib.delayed(pi_darts_py)(int(s)) for s in seeds))
    assert list(wr) == lr, "C and Python pi_darts differ"
    add("c", f"pi_darts on {N_PI} seeds: weft.map (C task) vs joblib (Python)", w,
        [("joblib loky", lk)])


def bench_memory():
    work = tempfile.mkdtemp(prefix="weft-bench-")
    try:
        wmem = weft.Memory(os.path.join(work, "weft"))
        jmem = joblib.Memory(os.path.join(work, "joblib"), verbose=0)

        def small(n):
            return float(n) * float(n)

        def total(x):
            return float(np.sum(x))
        wsmall, jsmall = wmem.cache(small), jmem.cache(small)
        wtotal, jtotal = wmem.cache(total), jmem.cache(total)
        wsmall(3), jsmall(3)
        k = 200 if QUICK else 2000
        w, _ = timed(lambda: [wsmall(3) for _ in range(k)], reps=3)
        j, _ = timed(lambda: [jsmall(3) for _ in range(k)], reps=3)
        add("d", "Memory hit, small argument", w, [("joblib.Memory", j)], per=k,
            target=f">= 20x: {'met' if j / w >= 20 else 'NOT MET'}")

        big = np.random.default_rng(1).random(BIG)
        wtotal(big), jtotal(big)
        w, wv = timed(lambda: wtotal(big), reps=3)
        j, jv = timed(lambda: jtotal(big), reps=3)
        assert wv == jv
        add("d", f"Memory hit, {big.nbytes // 10**6} MB array", w, [("joblib.Memory", j)],
            target=f">= 20x: {'met' if j / w >= 20 else 'NOT MET'}")

        weft.load_tasks(os.path.join(BUILD, "tests", "python", "libweft_pytasks.so"))
        wmem.call_task("py_sum_args", x=big, steps=1)
        c, _ = timed(lambda: wmem.call_task("py_sum_args", x=big, steps=1), reps=3)
        add("d", f"Memory hit, {big.nbytes // 10**6} MB array, C API", w,
            [("weft_memory_call", c)],
            target=f"weft within 1.5x: {'met' if w / c <= 1.5 else 'NOT MET'}")

        k = 50 if QUICK else 300
        w, _ = timed(lambda: [wsmall(i + 1000) for i in range(k)])
        j, _ = timed(lambda: [jsmall(i + 1000) for i in range(k)])
        add("d", "Memory miss + store, small result", w, [("joblib.Memory", j)], per=k)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    print(f"weft {weft.__version__} ({weft.library_path}) vs joblib {joblib.__version__}, "
          f"numpy {np.__version__}, n_jobs={N_JOBS}, nproc={os.cpu_count()}, "
          f"load {os.getloadavg()[0]:.2f}{', quick' if QUICK else ''}", flush=True)
    weft.load_examples()
    bench_parallel()
    bench_c_task()
    bench_memory()
    print()
    print(f"{'row':4} {'what':58} {'weft':>10}  peers (time per call or per run; "
          f"peer time / weft time)")
    for row, what, w, peers, per, target in rows:
        cells = ";  ".join(f"{name} {unit(s, per)} = {s / w:.1f}x" for name, s in peers)
        print(f"{row:4} {what[:58]:58} {unit(w, per):>10}  {cells}"
              f"{'  [' + target + ']' if target else ''}")


if __name__ == "__main__":
    main()
