/* weft's mpi backend under `mpirun -np 3` (bench/run_mpi.sh runs it beside mpi4py): rank 0
 * hands out, ranks 1 and 2 compute (WEFT_MPI_ROOT_WORKS=0, as in mpi4py's
 * MPIPoolExecutor, whose first rank only schedules); weft's processes backend with two
 * workers runs the same rows in the same program. Prints "row\twho\tvalue\tunit" lines. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "weft.h"
#include "weft_mpi.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int inc(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    x += 1;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(inc);

/* input {region, offset}: the region's byte there */
typedef struct probe {
    weft_shared region;
    uint64_t offset;
} probe;
static int peek(weft_task *t) {
    probe p;
    memcpy(&p, weft_input(t), sizeof p);
    const unsigned char *base = weft_shared_ptr(p.region);
    if (!base) return weft_fail(t, "region unknown");
    int64_t v = base[p.offset];
    return weft_output(t, &v, sizeof v);
}
WEFT_TASK(peek);

static weft_pool *open_pool(const char *backend, int batch_size) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = 2;
    o.batch_size = batch_size;
    weft_pool *pool = NULL;
    if (weft_pool_open(&pool, &o) != 0) {
        fprintf(stderr, "%s: %s\n", backend, weft_last_error()->message);
        exit(1);
    }
    return pool;
}

static double map_us_per_task(weft_pool *pool, size_t n) {
    int64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) in[i] = (int64_t)i;
    uint64_t t0 = bench_now_ns();
    if (weft_map(pool, WEFT_FN(inc), in, sizeof *in, n, out, sizeof *out) != 0) {
        fprintf(stderr, "map: %s\n", weft_last_error()->message);
        exit(1);
    }
    double us = (double)(bench_now_ns() - t0) / 1e3 / (double)n;
    for (size_t i = 0; i < n; i++)
        if (out[i] != (int64_t)i + 1) exit(fprintf(stderr, "wrong output at %zu\n", i) != 0);
    free(in);
    free(out);
    return us;
}

static double round_trip_us(weft_pool *pool, int reps) {
    int64_t x = 41, y = 0;
    uint64_t t0 = bench_now_ns();
    for (int r = 0; r < reps; r++)
        if (weft_map(pool, WEFT_FN(inc), &x, sizeof x, 1, &y, sizeof y) != 0 || y != 42) exit(1);
    return (double)(bench_now_ns() - t0) / 1e3 / reps;
}

/* A 200 MB region every task reads: the first call sends it (to each rank once). */
static void shared_rows(const char *who, weft_pool *pool) {
    size_t size = (size_t)200 << 20;
    weft_shared h;
    if (weft_shared_alloc(&h, size) != 0) exit(1);
    memset(weft_shared_ptr(h), 3, size);
    enum { N = 1000 };
    static probe in[N];
    static int64_t out[N];
    for (int i = 0; i < N; i++) in[i] = (probe){h, (uint64_t)i * (size / N)};
    for (int pass = 0; pass < 2; pass++) {
        uint64_t t0 = bench_now_ns();
        if (weft_map(pool, WEFT_FN(peek), in, sizeof in[0], N, out, sizeof out[0]) != 0) {
            fprintf(stderr, "shared: %s\n", weft_last_error()->message);
            exit(1);
        }
        double ms = (double)(bench_now_ns() - t0) / 1e6;
        for (int i = 0; i < N; i++)
            if (out[i] != 3) exit(1);
        printf("200 MB region, %d tasks: %s call\t%s\t%.4g\tms\n", N, pass ? "next" : "first", who, ms);
    }
    weft_shared_free(h);
}

static void rows(const char *who, int quick) {
    uint64_t t0 = bench_now_ns();
    weft_pool *cold = open_pool(who, 0);
    int64_t x = 1, y;
    weft_map(cold, WEFT_FN(inc), &x, sizeof x, 1, &y, sizeof y);
    printf("cold start: pool open + first task\t%s\t%.4g\tms\n", who, (double)(bench_now_ns() - t0) / 1e6);
    weft_pool_close(cold);
    weft_pool *pool = open_pool(who, 0);
    map_us_per_task(pool, 1000);
    printf("per task, automatic batches\t%s\t%.4g\tus\n", who, map_us_per_task(pool, quick ? 100000 : 2000000));
    printf("submit + result round trip\t%s\t%.4g\tus\n", who, round_trip_us(pool, quick ? 200 : 3000));
    shared_rows(who, pool);
    weft_pool_close(pool);
    weft_pool *one = open_pool(who, 1);
    printf("per task, batch size 1\t%s\t%.4g\tus\n", who, map_us_per_task(one, quick ? 3000 : 30000));
    weft_pool_close(one);
}

int main(int argc, char **argv) {
    setenv("WEFT_MPI_ROOT_WORKS", "0", 1); /* rank 0 schedules only, as mpi4py's does */
    if (weft_mpi_init(&argc, &argv) != 0) return 1;
    int quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
    if (weft_mpi_size() != 3) fprintf(stderr, "note: %d ranks (the table assumes mpirun -np 3)\n", weft_mpi_size());
    rows("mpi", quick);
    rows("processes", quick);
    return 0;
}
