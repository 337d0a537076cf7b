/* Nested maps against the flat map of the same tasks (docs/nested.md): outer 16 x inner
 * 16 tasks of ~5 ms of CPU each, against one map of the 256. Rows that bench/nested_joblib.py
 * measures for joblib's nested Parallel (loky outside, threading inside) have the same
 * names, so bench/run_nested.sh puts them side by side.
 *
 *   bench_nested [--quick] [n_jobs]   one line per figure: row, "weft", value, unit
 *
 * --quick (the ctest smoke test): 4 x 4 tasks of 1 ms, once; checks results, no timing. */
#define _GNU_SOURCE
#include "weft.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int outer_n = 16, inner_n = 16, reps = 5;
static double task_ms = 5;

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static _Atomic uint64_t sink; /* atomic: every worker thread writes it */

/* What a task is given: worker processes were forked before main read its arguments, so
 * the sizes travel with the items. */
typedef struct item {
    int64_t x;
    int32_t inner_n, task_us;
} item;

/* ~task_us of this thread's CPU (not wall time: a descheduled task still owes its work). */
static int64_t burn(int64_t x, int task_us) {
    double until = clock_s(CLOCK_THREAD_CPUTIME_ID) + task_us * 1e-6;
    uint64_t h = (uint64_t)x * 0x9E3779B97F4A7C15u;
    while (clock_s(CLOCK_THREAD_CPUTIME_ID) < until)
        for (int i = 0; i < 1000; i++) h = h * 6364136223846793005u + 1442695040888963407u;
    atomic_store_explicit(&sink, h, memory_order_relaxed); /* keeps the loop */
    return x * 3;
}

static int leaf(weft_task *t) {
    item it;
    memcpy(&it, weft_input(t), sizeof it);
    int64_t y = burn(it.x, it.task_us);
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(leaf)

/* An outer task: opens its own threads pool, as code that knows nothing of the outer map
 * would, and maps its inner_n tasks on it. */
static int outer(weft_task *t) {
    item it;
    memcpy(&it, weft_input(t), sizeof it);
    weft_options o = {.backend = "threads"}; /* n_jobs: -1, every CPU it may use */
    weft_pool *pool;
    if (weft_pool_open(&pool, &o) != 0) return weft_fail(t, "%s", weft_last_error()->message);
    item in[64];
    int64_t out[64], sum = 0;
    for (int j = 0; j < it.inner_n; j++) in[j] = (item){it.x * it.inner_n + j, it.inner_n, it.task_us};
    int rc = weft_map(pool, WEFT_FN(leaf), in, sizeof in[0], (size_t)it.inner_n, out, sizeof out[0]);
    weft_pool_close(pool);
    if (rc) return weft_fail(t, "%s", weft_last_error()->message);
    for (int j = 0; j < it.inner_n; j++) sum += out[j];
    return weft_output(t, &sum, sizeof sum);
}
WEFT_TASK(outer)

static int64_t expected_total(void) {
    int64_t n = (int64_t)outer_n * inner_n;
    return 3 * n * (n - 1) / 2;
}

static int failures;

static double run_flat(weft_pool *pool) {
    int n = outer_n * inner_n;
    item *in = malloc(sizeof *in * (size_t)n);
    int64_t *out = malloc(sizeof *out * (size_t)n), sum = 0;
    for (int i = 0; i < n; i++) in[i] = (item){i, inner_n, (int32_t)(task_ms * 1000)};
    double t = clock_s(CLOCK_MONOTONIC);
    if (weft_map(pool, WEFT_FN(leaf), in, sizeof in[0], (size_t)n, out, sizeof out[0]) != 0)
        fprintf(stderr, "flat map: %s\n", weft_last_error()->message), failures++;
    t = clock_s(CLOCK_MONOTONIC) - t;
    for (int i = 0; i < n; i++) sum += out[i];
    if (sum != expected_total()) fprintf(stderr, "flat map: wrong sum\n"), failures++;
    free(in);
    free(out);
    return t;
}

static double run_nested(weft_pool *pool) {
    item in[64];
    int64_t out[64], sum = 0;
    for (int i = 0; i < outer_n; i++) in[i] = (item){i, inner_n, (int32_t)(task_ms * 1000)};
    double t = clock_s(CLOCK_MONOTONIC);
    if (weft_map(pool, WEFT_FN(outer), in, sizeof in[0], (size_t)outer_n, out, sizeof out[0]) != 0)
        fprintf(stderr, "nested map: %s\n", weft_last_error()->message), failures++;
    t = clock_s(CLOCK_MONOTONIC) - t;
    for (int i = 0; i < outer_n; i++) sum += out[i];
    if (sum != expected_total()) fprintf(stderr, "nested map: wrong sum\n"), failures++;
    return t;
}

/* Best of `reps` each, flat and nested taking turns so that a change of load on the
 * machine touches both alike. */
static void best_pair(weft_pool *pool, double *flat, double *nested) {
    *flat = *nested = 1e30;
    for (int r = 0; r < reps; r++) {
        double f = run_flat(pool), n = run_nested(pool);
        if (f < *flat) *flat = f;
        if (n < *nested) *nested = n;
    }
}

static void row(const char *name, double value, const char *unit) {
    printf("%s\tweft\t%.4g\t%s\n", name, value, unit);
    fflush(stdout);
}

int main(int argc, char **argv) {
    int n_jobs = -1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            outer_n = inner_n = 4, task_ms = 1, reps = 1;
        else if (atoi(argv[i]) != 0)
            n_jobs = atoi(argv[i]);
        else
            return fprintf(stderr, "usage: bench_nested [--quick] [n_jobs]\n"), 2;
    }
    const char *backends[] = {"threads", "processes"};
    const char *names[] = {"threads > threads", "processes / loky > threads"};
    for (int b = 0; b < 2; b++) {
        weft_options o = {.backend = backends[b], .n_jobs = n_jobs};
        weft_pool *pool;
        if (weft_pool_open(&pool, &o) != 0) {
            fprintf(stderr, "%s pool: %s\n", backends[b], weft_last_error()->message);
            return 1;
        }
        run_flat(pool); /* warm: workers started, pages touched */
        double flat, nested;
        best_pair(pool, &flat, &nested);
        char name[96];
        snprintf(name, sizeof name, "flat %d tasks, %s", outer_n * inner_n, b ? "processes / loky" : "threads");
        row(name, flat * 1e3, "ms");
        snprintf(name, sizeof name, "nested %dx%d, %s", outer_n, inner_n, names[b]);
        row(name, nested * 1e3, "ms");
        snprintf(name, sizeof name, "nested / flat, %s", names[b]);
        row(name, 100 * nested / flat, "%");
        weft_pool_close(pool);
    }
    if (failures) fprintf(stderr, "bench_nested: %d wrong results\n", failures);
    return failures ? 1 : 0;
}
