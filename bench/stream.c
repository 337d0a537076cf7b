/* Streaming and reducing against keeping every result, and against OpenMP's reduction.
 *
 * Rows, all over the same task (`square`, int64 -> int64) on all CPUs:
 *   weft_map             results into a 10M-element array (the peer that holds everything)
 *   weft_imap ordered    results read one by one in input order
 *   weft_imap unordered  results read in the order they finish
 *   weft_imap source     inputs made on demand by a generator (nothing held up front)
 *   weft_reduce          each worker folds into its own accumulator
 *   weft_reduce determ.  fixed chunks and a fixed combine tree (bit-identical sums)
 *   OpenMP reduction     `#pragma omp parallel for reduction(+:sum)` calling the same task
 * For each: time per item and the growth of peak resident memory during the row
 * (VmHWM after resetting it through /proc/self/clear_refs).
 *
 *   bench_stream [items]     (default 10 million; WEFT_BENCH_QUICK=1: 1 million)
 */
#define _GNU_SOURCE
#include "weft.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The body every row runs; kept out of line so OpenMP cannot fold the loop away. */
__attribute__((noinline)) static int64_t square_body(int64_t x) { return x * x; }

static int square(weft_task *t) {
    int64_t y = square_body(*(const int64_t *)weft_input(t));
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(square)

static int square_of_index(weft_task *t) {
    int64_t y = square_body((int64_t)weft_task_index(t));
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(square_of_index)

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static long status_kb(const char *field) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t len = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, len) == 0) kb = atol(line + len + 1);
    if (f) fclose(f);
    return kb;
}

/* Reset the peak (VmHWM) to the current resident size; returns that size. */
static long reset_peak(void) {
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
    return status_kb("VmRSS:");
}

typedef struct row {
    const char *name;
    double seconds;
    long grew_kb;
    unsigned long long check; /* sum of the results, wrapping */
} row;

static void print_row(const row *r, size_t n) {
    printf("| %-22s | %8.1f | %9.2f | %10.1f | %20llu |\n", r->name, r->seconds * 1e9 / (double)n,
           (double)n / r->seconds / 1e6, (double)r->grew_kb / 1024.0, r->check);
}

typedef struct counter_source {
    size_t n, next;
    int64_t value;
} counter_source;

static int next_counter(void *user, weft_bytes *in) {
    counter_source *s = user;
    if (s->next == s->n) return 0;
    s->value = (int64_t)s->next++;
    in->data = &s->value;
    in->size = sizeof s->value;
    return 1;
}

static void sum_init(void *acc, void *user) {
    (void)user;
    *(unsigned long long *)acc = 0;
}
static void sum_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size, (void)user;
    *(unsigned long long *)acc += (unsigned long long)*(const int64_t *)out;
}
static void sum_combine(void *acc, const void *other, void *user) {
    (void)user;
    *(unsigned long long *)acc += *(const unsigned long long *)other;
}

static row stream_row(const char *name, weft_pool *pool, const int64_t *in, size_t n, int ordered,
                      int from_source) {
    row r = {name, 0, 0, 0};
    long base = reset_peak();
    double t0 = now();
    weft_iter *it;
    weft_iter_options io = {ordered, 0, 0};
    counter_source src = {n, 0, 0};
    weft_source source = {next_counter, &src};
    int rc = from_source ? weft_imap(&it, pool, WEFT_FN(square), &source, &io)
                         : weft_imap_array(&it, pool, WEFT_FN(square), in, 8, n, &io);
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, weft_last_error()->message);
        exit(1);
    }
    weft_result res;
    while ((rc = weft_next(it, &res)) == 1) r.check += (unsigned long long)*(const int64_t *)res.data;
    weft_iter_close(it);
    r.seconds = now() - t0;
    r.grew_kb = status_kb("VmHWM:") - base;
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, weft_last_error()->message);
        exit(1);
    }
    return r;
}

int main(int argc, char **argv) {
    size_t n = getenv("WEFT_BENCH_QUICK") ? 1000000 : 10000000;
    if (argc > 1) n = strtoull(argv[1], NULL, 10);
    int cpus = weft_cpu_count();
    weft_options o;
    weft_options_init(&o);
    o.backend = "threads";
    o.n_jobs = cpus;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) {
        fprintf(stderr, "weft_pool_open: %s\n", weft_last_error()->message);
        return 1;
    }
    omp_set_num_threads(cpus);
    int64_t *in = malloc(n * sizeof *in);
    for (size_t i = 0; i < n; i++) in[i] = (int64_t)(i % 1000003);
    /* warm both pools and fault the input in before measuring */
    weft_map(pool, WEFT_FN(square), in, 8, 1000, NULL, 0);

    /* what every row must sum to: the array rows square i % 1000003, the others i */
    unsigned long long want_array = 0, want_index = 0;
    for (size_t i = 0; i < n; i++) {
        want_array += (unsigned long long)(in[i] * in[i]);
        want_index += (unsigned long long)((int64_t)i * (int64_t)i);
    }
    int wrong = 0;
#define VERIFY(r, want) (wrong += (r).check != (want) && fprintf(stderr, "%s: wrong sum\n", (r).name))
    printf("streaming and reducing %zu tasks on %d threads (int64 square each)\n\n", n, cpus);
    printf("| %-22s | %8s | %9s | %10s | %20s |\n", "row", "ns/item", "M items/s", "peak +MiB", "checksum");
    printf("|%s|%s|%s|%s|%s|\n", "------------------------", "----------", "-----------", "------------",
           "----------------------");

    row r = {"weft_map (all results)", 0, 0, 0};
    long base = reset_peak();
    double t0 = now();
    int64_t *out = malloc(n * sizeof *out);
    if (weft_map(pool, WEFT_FN(square), in, 8, n, out, 8)) return 1;
    for (size_t i = 0; i < n; i++) r.check += (unsigned long long)out[i];
    r.seconds = now() - t0;
    r.grew_kb = status_kb("VmHWM:") - base;
    free(out);
    print_row(&r, n);
    VERIFY(r, want_array);

    r = stream_row("weft_imap ordered", pool, in, n, 1, 0);
    print_row(&r, n);
    VERIFY(r, want_array);
    r = stream_row("weft_imap unordered", pool, in, n, 0, 0);
    print_row(&r, n);
    VERIFY(r, want_array);
    /* the source counts 0..n-1, so its checksum differs from the array rows */
    r = stream_row("weft_imap from source", pool, in, n, 1, 1);
    print_row(&r, n);
    VERIFY(r, want_index);

    weft_reducer sum = {sizeof(unsigned long long), sum_init, sum_fold, sum_combine, NULL, 0};
    for (int det = 0; det < 2; det++) {
        sum.deterministic = det;
        r = (row){det ? "weft_reduce determ." : "weft_reduce", 0, 0, 0};
        base = reset_peak();
        t0 = now();
        if (weft_reduce(pool, WEFT_FN(square_of_index), NULL, 0, n, 8, &sum, &r.check)) return 1;
        r.seconds = now() - t0;
        r.grew_kb = status_kb("VmHWM:") - base;
        print_row(&r, n);
        VERIFY(r, want_index);
    }

    /* OpenMP runs the same body with a static schedule: no task context, no output
     * copy, the floor any library can approach */
    r = (row){"OpenMP reduction(+:)", 0, 0, 0};
    base = reset_peak();
    t0 = now();
    unsigned long long total = 0;
#pragma omp parallel for schedule(static) reduction(+ : total)
    for (size_t i = 0; i < n; i++) {
        total += (unsigned long long)square_body((int64_t)i);
    }
    r.check = total;
    r.seconds = now() - t0;
    r.grew_kb = status_kb("VmHWM:") - base;
    print_row(&r, n);
    VERIFY(r, want_index);

    printf("\npeak +MiB: growth of peak resident memory during the row. weft_map holds all %zu\n"
           "results (%.0f MiB); the streaming rows hold a window of 16384 tasks.\n", n,
           (double)n * 8 / 1048576.0);
    weft_pool_close(pool);
    free(in);
    return wrong ? 1 : 0;
}
