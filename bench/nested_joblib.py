#!/usr/bin/python3
"""joblib's nested Parallel on the rows that bench_nested measures for weft: outer 16 x
inner 16 tasks of ~5 ms of CPU each (loky outside, threading inside), against the flat
Parallel of the 256 tasks on loky.

    /usr/bin/python3 bench/nested_joblib.py [--quick] [n_jobs]

Prints one line per figure, tab-separated: row, "joblib", value, unit.
"""
import sys
import time

from joblib import Parallel, delayed

OUTER, INNER, TASK_S, REPS = 16, 16, 5e-3, 5


def burn(x, task_s):
    """~task_s of this thread's CPU (thread_time: a descheduled task still owes its work)."""
    until = time.thread_time() + task_s
    h = x
    while time.thread_time() < until:
        for _ in range(100):
            h = (h * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
    return x * 3


def outer(x, inner, task_s, n_jobs):
    with Parallel(n_jobs=n_jobs, backend="threading") as p:
        return sum(p(delayed(burn)(x * inner + j, task_s) for j in range(inner)))


def best_of(k, fn):
    best, value = float("inf"), None
    for _ in range(k):
        t = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t)
    return best, value


def row(name, value, unit):
    print(f"{name}\tjoblib\t{value:.4g}\t{unit}", flush=True)


def main():
    global OUTER, INNER, TASK_S, REPS
    args = sys.argv[1:]
    if "--quick" in args:
        args.remove("--quick")
        OUTER, INNER, TASK_S, REPS = 4, 4, 1e-3, 1
    n_jobs = int(args[0]) if args else -1
    n = OUTER * INNER
    want = 3 * n * (n - 1) // 2
    with Parallel(n_jobs=n_jobs, backend="loky") as p:
        p(delayed(burn)(i, TASK_S) for i in range(n))  # warm: workers started
        flat = nested = float("inf")
        for _ in range(REPS):  # taking turns, as bench_nested does
            f, got_flat = best_of(1, lambda: sum(p(delayed(burn)(i, TASK_S) for i in range(n))))
            g, got_nested = best_of(
                1, lambda: sum(p(delayed(outer)(i, INNER, TASK_S, n_jobs) for i in range(OUTER))))
            flat, nested = min(flat, f), min(nested, g)
    if got_flat != want or got_nested != want:
        sys.exit(f"nested_joblib: wrong results {got_flat} {got_nested} (want {want})")
    row(f"flat {n} tasks, processes / loky", flat * 1e3, "ms")
    row(f"nested {OUTER}x{INNER}, processes / loky > threads", nested * 1e3, "ms")
    row("nested / flat, processes / loky > threads", 100 * nested / flat, "%")


if __name__ == "__main__":
    main()
