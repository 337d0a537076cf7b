#!/usr/bin/python3
"""joblib's loky backend on the rows that bench_processes measures for weft.

    /usr/bin/python3 bench/loky_peer.py [n_jobs]

Prints one line per figure, tab-separated: row, "loky", value, unit (the same rows and
units as bench_processes, so bench/run_processes.sh can put them side by side).
"""
import os
import sys
import tempfile
import time

import numpy as np
from joblib import Parallel, delayed


def tiny(x):
    return x + 1


def part_sum(a, i, parts):
    n = len(a)
    return float(a[n * i // parts:n * (i + 1) // parts].sum())


def block_sum(b):
    return float(b.sum())


def row(name, value, unit):
    print(f"{name}\tloky\t{value:.4g}\t{unit}", flush=True)


def best_of(k, fn):
    best = float("inf")
    for _ in range(k):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main():
    n_jobs = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count()
    parts = 16

    # cold start: the first call of a fresh process starts loky's workers
    t = time.perf_counter()
    Parallel(n_jobs=n_jobs, batch_size=1)(delayed(tiny)(i) for i in range(n_jobs))
    cold = time.perf_counter() - t

    n = 200_000
    took = best_of(3, lambda: Parallel(n_jobs=n_jobs)(delayed(tiny)(i) for i in range(n)))
    row("per-task overhead, batched", took / n * 1e6, "us")

    # one task on a warm pool, call after call (weft: weft_map of one item)
    reps = 500
    with Parallel(n_jobs=n_jobs) as par:
        par([delayed(tiny)(0)])
        times = []
        for i in range(reps):
            t = time.perf_counter()
            par([delayed(tiny)(i)])
            times.append(time.perf_counter() - t)
        times.sort()
        row("unbatched round trip, p50", times[reps // 2] * 1e6, "us")
        row("unbatched round trip, p99", times[reps * 99 // 100] * 1e6, "us")

    m = 2000
    took = best_of(2, lambda: Parallel(n_jobs=n_jobs, batch_size=1)(delayed(tiny)(i) for i in range(m)))
    row("per-task, batch_size=1", took / m * 1e6, "us")
    row("cold start of the pool", cold * 1e3, "ms")

    a = np.ones(25_000_000)  # 200 MB
    # a new array each time: joblib dumps it to shared memory once per call (an array it
    # has already dumped, recognised by a hash of its bytes, is not dumped again)
    fresh = [a + r for r in range(3)]
    with Parallel(n_jobs=n_jobs) as par:
        took = min(best_of(1, lambda: par(delayed(part_sum)(b, i, parts) for i in range(parts)))
                   for b in fresh)
    row("200 MB array to 16 tasks (copied in)", took * 1e3, "ms")
    del fresh
    with Parallel(n_jobs=n_jobs) as par:
        par(delayed(part_sum)(a, i, parts) for i in range(parts))
        took = best_of(3, lambda: par(delayed(part_sum)(a, i, parts) for i in range(parts)))
    row("200 MB array to 16 tasks (passed again)", took * 1e3, "ms")

    folder = "/dev/shm" if os.path.isdir("/dev/shm") else None
    with tempfile.TemporaryDirectory(dir=folder) as d:
        shared = np.memmap(os.path.join(d, "a.dat"), dtype=np.float64, mode="w+", shape=a.shape)
        shared[:] = a
        shared.flush()
        with Parallel(n_jobs=n_jobs) as par:
            par(delayed(part_sum)(shared, i, parts) for i in range(parts))
            took = best_of(3, lambda: par(delayed(part_sum)(shared, i, parts) for i in range(parts)))
        row("200 MB array to 16 tasks (already shared)", took * 1e3, "ms")
        del shared


if __name__ == "__main__":
    main()
