"""Memory benchmarks, the joblib side (bench/run_memory.sh runs it beside bench/memory.c).

Same measurements with joblib.Memory (Debian python3-joblib, /usr/bin/python3): a numpy
copy of 200 MB, joblib.hash of a 200 MB float64 array, a hit with a small argument, a
hit with a 200 MB argument, a miss + store of a small result. Prints "name value unit".
"""
import shutil
import sys
import time

import joblib
import numpy as np

BIG = 200 * 1000 * 1000 // 8


def best_of(reps, fn):
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def reduce(x=None, n=None):
    return float(np.sum(x)) if x is not None else float(n) * float(n)


def main():
    location = sys.argv[1] if len(sys.argv) > 1 else "build/bench-joblib"
    shutil.rmtree(location, ignore_errors=True)
    src = np.arange(BIG, dtype=np.float64) * 0.5
    dst = np.zeros_like(src)
    print("memcpy_200MB %.2f GB/s" % (0.2 / best_of(5, lambda: np.copyto(dst, src))))
    print("read_200MB %.2f GB/s" % (0.2 / best_of(5, lambda: src.view(np.uint64).sum())))
    print("hash_200MB %.2f GB/s" % (0.2 / best_of(3, lambda: joblib.hash(src))))

    mem = joblib.Memory(location, verbose=0)
    cached = mem.cache(reduce)
    cached(x=src)
    print("hit_200MB_arg %.2f ms" % (1e3 * best_of(3, lambda: cached(x=src))))

    cached(n=12345)
    reps = 2000
    t = best_of(3, lambda: [cached(n=12345) for _ in range(reps)]) / reps
    print("hit_small_arg %.2f us" % (1e6 * t))

    counter = iter(range(10**6, 10**7))
    reps = 300
    t = best_of(3, lambda: [cached(n=next(counter)) for _ in range(reps)]) / reps
    print("miss_store_small %.2f us" % (1e6 * t))

    # a cached map: joblib.Parallel over a cached function, all misses then all hits
    # (2 000 items: per item it is a few hundred microseconds either way)
    cube = mem.cache(lambda_cube)
    items = range(10**7, 10**7 + 2000)
    for kind in ("miss", "hit"):
        t0 = time.perf_counter()
        joblib.Parallel(n_jobs=2)(joblib.delayed(cube)(x) for x in items)
        print("map_joblib_%s %.3f us" % (kind, 1e6 * (time.perf_counter() - t0) / len(items)))
    shutil.rmtree(location, ignore_errors=True)


def lambda_cube(x):
    return x * x * x


if __name__ == "__main__":
    main()
