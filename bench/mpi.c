/* weft's mpi backend under `mpirun -np 3` (bench/run_mpi.sh runs it beside mpi4py): rank 0
 * hands out, ranks 1 and 2 compute (WEFT_MPI_ROOT_WORKS=0, as in mpi4py's
 * MPIPoolExecutor, whose first rank only schedules); weft's processes backend with two
 * workers runs the same rows in the same program. Prints "row\twho\tvalue\tunit" lines. */
#define _GNU_SOURCE
#include "bench_util.h"
#include "weft.h"
#include "weft_mpi.h"

#include <mpi.h>

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

/* Latency rows: the median and the 99th percentile of `n` samples (us). */
static void latency_rows(const char *row, const char *who, double *us, int n) {
    printf("%s, p50\t%s\t%.4g\tus\n", row, who, bench_quantile(us, (size_t)n, 0.5));
    printf("%s, p99\t%s\t%.4g\tus\n", row, who, bench_quantile(us, (size_t)n, 0.99));
}

static void round_trip_rows(const char *who, weft_pool *pool, int reps) {
    int64_t x = 41, y = 0;
    double *us = malloc((size_t)reps * sizeof *us);
    for (int r = 0; r < reps; r++) {
        uint64_t t0 = bench_now_ns();
        if (weft_map(pool, WEFT_FN(inc), &x, sizeof x, 1, &y, sizeof y) != 0 || y != 42) exit(1);
        us[r] = (double)(bench_now_ns() - t0) / 1e3;
    }
    latency_rows("submit + result round trip", who, us, reps);
    free(us);
}

/* The floor under any round trip here: a bare MPI ping-pong of 16 bytes between ranks 0
 * and 1 of the same mpirun, before weft starts (rank 2 waits in the barrier). */
static void ping_pong_rows(int reps) {
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    double *us = malloc((size_t)reps * sizeof *us);
    char buf[16] = {0};
    for (int r = 0; r < reps && rank <= 1; r++) {
        uint64_t t0 = bench_now_ns();
        if (rank == 0) {
            MPI_Send(buf, sizeof buf, MPI_BYTE, 1, 7, MPI_COMM_WORLD);
            MPI_Recv(buf, sizeof buf, MPI_BYTE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, sizeof buf, MPI_BYTE, 0, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, sizeof buf, MPI_BYTE, 0, 7, MPI_COMM_WORLD);
        }
        us[r] = (double)(bench_now_ns() - t0) / 1e3;
    }
    if (rank == 0) latency_rows("submit + result round trip", "pingpong", us, reps);
    free(us);
    MPI_Barrier(MPI_COMM_WORLD);
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
    round_trip_rows(who, pool, quick ? 200 : 3000);
    shared_rows(who, pool);
    weft_pool_close(pool);
    weft_pool *one = open_pool(who, 1);
    printf("per task, batch size 1\t%s\t%.4g\tus\n", who, map_us_per_task(one, quick ? 3000 : 30000));
    weft_pool_close(one);
}

/*   bench_mpi [--quick] [mpi|processes]: every row, or one backend's */
int main(int argc, char **argv) {
    setenv("WEFT_MPI_ROOT_WORKS", "0", 1); /* rank 0 schedules only, as mpi4py's does */
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    int quick = 0;
    const char *only = NULL;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0)
            quick = 1;
        else
            only = argv[a];
    }
    ping_pong_rows(quick ? 200 : 3000);
    int rc = weft_mpi_init(&argc, &argv);
    if (rc == WEFT_MPI_SERVED) return MPI_Finalize();
    if (rc != 0) return 1;
    if (weft_mpi_size() != 3) fprintf(stderr, "note: %d ranks (the table assumes mpirun -np 3)\n", weft_mpi_size());
    if (!only || strcmp(only, "mpi") == 0) rows("mpi", quick);
    if (!only || strcmp(only, "processes") == 0) rows("processes", quick);
    weft_mpi_finalize();
    MPI_Finalize();
    return 0;
}
