/* Streaming and reducing against keeping every result, and against OpenMP's reduction.
 *
 * Rows, all over the same task (`square`, int64 -> int64) on all CPUs:
 *   weft_map             results into a 10M-element array (the peer that holds everything)
 *   weft_map, reused     the same into an array allocated and faulted in once: no target,
 *                        it shows what of weft_map's time is the fresh array's page faults
 *   weft_imap ordered    results read one by one in input order
 *   weft_imap unordered  results read in the order they finish
 *   weft_imap source     inputs made on demand by a generator (nothing held up front)
 *   weft_reduce          weft_sum_i64: each worker folds into its own accumulator, inline
 *   weft_reduce own fold the same sum through a fold function of the program's own
 *   weft_reduce determ.  weft_sum_i64 in fixed chunks and a fixed combine tree
 *   OpenMP reduction     `#pragma omp parallel for reduction(+:sum)` calling the same task
 * For each: wall time per item, the process's CPU time per item (what the machine's other
 * programs cannot inflate by taking the CPUs away), and the growth of peak resident memory
 * during the row (VmHWM after resetting it through /proc/self/clear_refs). Every round runs
 * every row once, in turns; the table gives medians over the rounds, and each ratio is the
 * median of the per-round ratios (the two rows of a round ran seconds apart, under about
 * the same load).
 *
 *   weft_bench_stream [items] [--rounds R] [--quick]
 *       default 10 million items, 5 rounds; --quick (or WEFT_BENCH_QUICK=1): 200 000, 1
 */
#define _GNU_SOURCE
#include "weft.h"

#include <omp.h>
#include <stdio.h>
#include <sys/resource.h>
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

static double cpu_now(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + u.ru_utime.tv_usec * 1e-6 + (double)u.ru_stime.tv_sec +
           u.ru_stime.tv_usec * 1e-6;
}

typedef struct row {
    const char *name;
    double seconds, cpu;
    long grew_kb;
    unsigned long long check; /* sum of the results, wrapping */
} row;

/* Time what happens between them: wall, CPU and peak memory. */
static double t0, c0;
static long base_kb;
static void start(row *r, const char *name) {
    *r = (row){name, 0, 0, 0, 0};
    base_kb = reset_peak();
    c0 = cpu_now();
    t0 = now();
}
static void stop(row *r) {
    r->seconds = now() - t0;
    r->cpu = cpu_now() - c0;
    r->grew_kb = status_kb("VmHWM:") - base_kb;
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
    row r;
    start(&r, name);
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
    stop(&r);
    if (rc) {
        fprintf(stderr, "%s: %s\n", name, weft_last_error()->message);
        exit(1);
    }
    return r;
}

enum { MAP,
       MAP_REUSED,
       ORDERED,
       UNORDERED,
       SOURCE,
       REDUCE,
       REDUCE_OWN,
       REDUCE_DET,
       OPENMP,
       ROWS };
#define MAX_ROUNDS 64

static double median(double *v, int n) {
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double x = v[j];
            v[j] = v[j - 1], v[j - 1] = x;
        }
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One round: every row once. Returns the number of wrong checksums. */
static int run_round(weft_pool *pool, const int64_t *in, int64_t *reused, size_t n,
                     unsigned long long want_array, unsigned long long want_index, row *rows) {
    row r;
    start(&r, "weft_map (all results)");
    int64_t *out = malloc(n * sizeof *out);
    if (!out || weft_map(pool, WEFT_FN(square), in, 8, n, out, 8)) exit(1);
    for (size_t i = 0; i < n; i++) r.check += (unsigned long long)out[i];
    stop(&r);
    free(out);
    rows[MAP] = r;

    start(&r, "weft_map, reused array");
    if (weft_map(pool, WEFT_FN(square), in, 8, n, reused, 8)) exit(1);
    for (size_t i = 0; i < n; i++) r.check += (unsigned long long)reused[i];
    stop(&r);
    rows[MAP_REUSED] = r;

    rows[ORDERED] = stream_row("weft_imap ordered", pool, in, n, 1, 0);
    rows[UNORDERED] = stream_row("weft_imap unordered", pool, in, n, 0, 0);
    /* the source counts 0..n-1, so its checksum differs from the array rows */
    rows[SOURCE] = stream_row("weft_imap from source", pool, in, n, 1, 1);

    /* the ready-made sum (what OpenMP's reduction(+) is to it), then the same sum as a
     * program writes its own reducer, then the ready-made one made deterministic */
    weft_reducer own = {sizeof(unsigned long long), sum_init, sum_fold, sum_combine, NULL, 0};
    weft_reducer det = weft_sum_i64;
    det.deterministic = 1;
    static const struct {
        int row;
        const char *name;
    } reduce_rows[] = {{REDUCE, "weft_reduce"}, {REDUCE_OWN, "weft_reduce own fold"}, {REDUCE_DET, "weft_reduce determ."}};
    for (int k = 0; k < 3; k++) {
        int at = reduce_rows[k].row;
        const weft_reducer *red = at == REDUCE ? &weft_sum_i64 : at == REDUCE_OWN ? &own
                                                                                  : &det;
        start(&r, reduce_rows[k].name);
        if (weft_reduce(pool, WEFT_FN(square_of_index), NULL, 0, n, 8, red, &r.check)) exit(1);
        stop(&r);
        rows[at] = r;
    }

    /* OpenMP runs the same body with a static schedule: no task context, no output
     * copy, the floor any library can approach */
    start(&r, "OpenMP reduction(+:)");
    unsigned long long total = 0;
#pragma omp parallel for schedule(static) reduction(+ \
                                                    : total)
    for (size_t i = 0; i < n; i++) {
        total += (unsigned long long)square_body((int64_t)i);
    }
    r.check = total;
    stop(&r);
    rows[OPENMP] = r;

    int wrong = 0;
    for (int k = 0; k < ROWS; k++) {
        unsigned long long want = k == MAP || k == MAP_REUSED || k == ORDERED || k == UNORDERED ? want_array : want_index;
        if (rows[k].check != want) wrong++, fprintf(stderr, "%s: wrong sum\n", rows[k].name);
    }
    return wrong;
}

int main(int argc, char **argv) {
    size_t n = 10000000;
    int rounds = 5;
    if (getenv("WEFT_BENCH_QUICK")) n = 200000, rounds = 1;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--quick") == 0)
            n = 200000, rounds = 1;
        else if (strcmp(argv[a], "--rounds") == 0 && a + 1 < argc)
            rounds = atoi(argv[++a]);
        else
            n = strtoull(argv[a], NULL, 10);
    }
    if (rounds < 1 || rounds > MAX_ROUNDS || n == 0) {
        fprintf(stderr, "usage: weft_bench_stream [items] [--rounds 1..%d] [--quick]\n", MAX_ROUNDS);
        return 2;
    }
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
    int64_t *reused = malloc(n * sizeof *reused);
    if (!reused) return 1;
    memset(reused, 0, n * sizeof *reused); /* faulted in once, outside every round */

    /* what every row must sum to: the array rows square i % 1000003, the others i */
    unsigned long long want_array = 0, want_index = 0;
    for (size_t i = 0; i < n; i++) {
        want_array += (unsigned long long)(in[i] * in[i]);
        want_index += (unsigned long long)((int64_t)i * (int64_t)i);
    }
    double load[3] = {0, 0, 0};
    FILE *lf = fopen("/proc/loadavg", "r");
    if (lf) {
        if (fscanf(lf, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3) load[0] = -1;
        fclose(lf);
    }

    static row all[MAX_ROUNDS][ROWS];
    int wrong = 0;
    for (int k = 0; k < rounds; k++) wrong += run_round(pool, in, reused, n, want_array, want_index, all[k]);

    /* each row's peer and target: the ratio is row / peer (lower is better) */
    static const struct {
        int peer;
        double target;
    } goal[ROWS] = {[MAP] = {-1, 0}, [MAP_REUSED] = {-1, 0}, [ORDERED] = {MAP, 1.2}, [UNORDERED] = {ORDERED, 1.0}, [SOURCE] = {MAP, 0}, [REDUCE] = {OPENMP, 4.0}, [REDUCE_OWN] = {OPENMP, 0}, [REDUCE_DET] = {OPENMP, 0}, [OPENMP] = {-1, 0}};
    printf("streaming and reducing %zu tasks on %d threads (int64 square each), median of %d round%s, "
           "load average %.2f %.2f %.2f\n\n",
           n, cpus, rounds, rounds > 1 ? "s" : "", load[0], load[1], load[2]);
    printf("| %-22s | %8s | %8s | %9s | %20s | %-27s | %-7s |\n", "row", "ns/item", "CPU ns", "peak +MiB",
           "checksum", "ratio (wall, CPU) vs peer", "target");
    printf("|------------------------|----------|----------|-----------|----------------------|"
           "-----------------------------|---------|\n");
    for (int k = 0; k < ROWS; k++) {
        double wall[MAX_ROUNDS], cpu[MAX_ROUNDS], rw[MAX_ROUNDS], rc[MAX_ROUNDS];
        for (int j = 0; j < rounds; j++) {
            wall[j] = all[j][k].seconds, cpu[j] = all[j][k].cpu;
            if (goal[k].peer >= 0) {
                rw[j] = all[j][k].seconds / all[j][goal[k].peer].seconds;
                rc[j] = all[j][k].cpu / all[j][goal[k].peer].cpu;
            }
        }
        char ratio[64] = "", target[16] = "";
        if (goal[k].peer >= 0)
            snprintf(ratio, sizeof ratio, "%.2fx, %.2fx %s", median(rw, rounds), median(rc, rounds),
                     goal[k].peer == MAP ? "weft_map" : goal[k].peer == ORDERED ? "ordered"
                                                                                : "OpenMP");
        if (goal[k].target > 0)
            snprintf(target, sizeof target, "<= %.1fx", goal[k].target);
        printf("| %-22s | %8.2f | %8.2f | %9.1f | %20llu | %-27s | %-7s |\n", all[0][k].name,
               median(wall, rounds) * 1e9 / (double)n, median(cpu, rounds) * 1e9 / (double)n,
               (double)all[0][k].grew_kb / 1024.0, all[0][k].check, ratio, target);
    }

    double ow[MAX_ROUNDS], oc[MAX_ROUNDS];
    for (int j = 0; j < rounds; j++) {
        ow[j] = all[j][ORDERED].seconds / all[j][MAP_REUSED].seconds;
        oc[j] = all[j][ORDERED].cpu / all[j][MAP_REUSED].cpu;
    }
    printf("\nCPU ns: the process's CPU time (user + system) per item; with all CPUs to itself it\n"
           "is about %d x ns/item. peak +MiB (first round): growth of peak resident memory.\n"
           "weft_map holds all %zu results (%.0f MiB); the streaming rows hold a window of 16384.\n"
           "weft_map, reused array: the same map into an array faulted in before the rounds (what\n"
           "a fresh array's page faults cost is the difference); weft_imap ordered against it:\n"
           "%.2fx wall, %.2fx CPU (no target).\n",
           cpus, n, (double)n * 8 / 1048576.0, median(ow, rounds), median(oc, rounds));
    weft_pool_close(pool);
    free(reused);
    free(in);
    return wrong ? 1 : 0;
}
