"""mpi4py's MPIPoolExecutor, the rows bench/mpi.c measures for weft (bench/run_mpi.sh).

Run as `mpirun -np 3 /usr/bin/python3 -m mpi4py.futures bench/mpi4py_peer.py PART [--quick]`
with PART `shared` (the 200 MB region) or `tasks` (the other rows), one mpirun each: an
executor with an initializer must be the first of its run. Rank 0 runs this script and
schedules, ranks 1 and 2 are the executor's workers.
Prints "row<TAB>mpi4py<TAB>value<TAB>unit" lines.
"""
import sys
import time

from mpi4py.futures import MPIPoolExecutor

QUICK = "--quick" in sys.argv
SIZE = 200 << 20
N_SHARED = 1000
_region = None


def inc(x):
    return x + 1


def keep(region):
    global _region
    _region = region


def peek(offset):
    return _region[offset]


def per_task_us(ex, n, chunksize):
    t = time.perf_counter()
    out = list(ex.map(inc, range(n), chunksize=chunksize))
    us = (time.perf_counter() - t) / n * 1e6
    assert out == [i + 1 for i in range(n)]
    return us


def row(name, value, unit):
    print(f"{name}\tmpi4py\t{value:.4g}\t{unit}", flush=True)


def main():
    if "shared" in sys.argv:
        shared_rows()
    else:
        task_rows()


def shared_rows():
    # the region goes once to each worker, through the executor's initializer
    region = bytes([3]) * SIZE
    offsets = [i * (SIZE // N_SHARED) for i in range(N_SHARED)]
    t = time.perf_counter()
    with MPIPoolExecutor(initializer=keep, initargs=(region,)) as ex:
        assert all(v == 3 for v in ex.map(peek, offsets, chunksize=10))
        row(f"200 MB region, {N_SHARED} tasks: first call", (time.perf_counter() - t) * 1e3, "ms")
        t = time.perf_counter()
        assert all(v == 3 for v in ex.map(peek, offsets, chunksize=10))
        row(f"200 MB region, {N_SHARED} tasks: next call", (time.perf_counter() - t) * 1e3, "ms")


def task_rows():
    t = time.perf_counter()
    with MPIPoolExecutor() as ex:
        assert ex.submit(inc, 1).result() == 2
        row("cold start: pool open + first task", (time.perf_counter() - t) * 1e3, "ms")
        per_task_us(ex, 1000, 100)
        # mpi4py has no automatic batches: chunksize 100 is its batched form
        row("per task, automatic batches", per_task_us(ex, 20000 if QUICK else 200000, 100), "us")
        reps = 100 if QUICK else 1000
        us = []
        for _ in range(reps):
            t = time.perf_counter()
            assert ex.submit(inc, 41).result() == 42
            us.append((time.perf_counter() - t) * 1e6)
        us.sort()
        # nearest rank, as bench/bench_util.h's bench_quantile
        row("submit + result round trip, p50", us[round(0.5 * (reps - 1))], "us")
        row("submit + result round trip, p99", us[round(0.99 * (reps - 1))], "us")
        row("per task, batch size 1", per_task_us(ex, 300 if QUICK else 3000, 1), "us")


if __name__ == "__main__":
    main()
