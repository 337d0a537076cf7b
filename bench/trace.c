/* What a trace costs, side by side in one run: the same maps with no trace recording and
 * with one (weft_trace_start .. weft_trace_stop, the file written each time).
 *
 *   weft_bench_trace [--quick]
 *
 * Rows:
 *   a  tiny tasks (empty), threads, automatic batches: time per item and per batch, off
 *      and on. Off, weft__job_run takes one branch per batch on the tracing flag; that is
 *      the whole cost, too small to see beside the batch itself.
 *   b  1 ms tasks, threads: wall time of the map, off and on. Target: on <= 5% over off.
 *   c  1 ms tasks, processes: the same (workers write part files, merged at the stop).
 * Off and on alternate, repetition by repetition, and the medians are compared. */
#define _GNU_SOURCE
#include "bench_util.h"

#include "weft.h"

static int empty(weft_task *t) {
    (void)t;
    return 0;
}
WEFT_TASK(empty)

static int spin_1ms(weft_task *t) {
    uint64_t until = bench_now_ns() + 1000000u;
    while (bench_now_ns() < until) {
    }
    int32_t x = 1;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(spin_1ms)

/* Count the batch slices a trace file holds (one per line, weft's own format). */
static long count_batches(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[1024];
    long n = 0;
    while (fgets(line, sizeof line, f)) n += strstr(line, "\"cat\":\"batch\"") != NULL;
    fclose(f);
    return n;
}

/* One map, traced or not; seconds. */
static double run(weft_pool *pool, const weft_task_def *task, size_t n, void *out, size_t out_size, int traced,
                  const char *path) {
    if (traced && weft_trace_start(path) != 0) {
        fprintf(stderr, "weft_trace_start: %s\n", weft_last_error()->message);
        exit(1);
    }
    uint64_t t0 = bench_now_ns();
    if (weft_map(pool, task, NULL, 0, n, out, out_size) != 0) {
        fprintf(stderr, "weft_map: %s\n", weft_last_error()->message);
        exit(1);
    }
    uint64_t t1 = bench_now_ns();
    if (traced && weft_trace_stop() != 0) {
        fprintf(stderr, "weft_trace_stop: %s\n", weft_last_error()->message);
        exit(1);
    }
    return (double)(t1 - t0) * 1e-9;
}

typedef struct pair {
    double off, on;
    long batches;
} pair;

static pair compare(const char *backend, const weft_task_def *task, size_t n, int reps, const char *path) {
    weft_options o = {.backend = backend, .n_jobs = 2};
    weft_pool *pool = NULL;
    if (weft_pool_open(&pool, &o) != 0) {
        fprintf(stderr, "pool: %s\n", weft_last_error()->message);
        exit(1);
    }
    int32_t *out = task == WEFT_FN(spin_1ms) ? malloc(n * sizeof *out) : NULL;
    size_t out_size = out ? sizeof *out : 0;
    double *off = malloc((size_t)reps * sizeof *off), *on = malloc((size_t)reps * sizeof *on);
    run(pool, task, n, out, out_size, 0, path); /* warm: workers started */
    for (int r = 0; r < reps; r++) {
        off[r] = run(pool, task, n, out, out_size, 0, path);
        on[r] = run(pool, task, n, out, out_size, 1, path);
    }
    pair p = {bench_median(off, (size_t)reps), bench_median(on, (size_t)reps), count_batches(path)};
    free(off), free(on), free(out);
    weft_pool_close(pool);
    return p;
}

int main(int argc, char **argv) {
    int quick = (argc > 1 && strcmp(argv[1], "--quick") == 0) || getenv("WEFT_BENCH_QUICK");
    char path[256];
    snprintf(path, sizeof path, "%s/weft_bench_trace_%d.json", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    double load[3] = {0};
    if (getloadavg(load, 3) < 0) load[0] = -1;
    char cpu[128];
    bench_cpu_model(cpu, sizeof cpu);
    printf("weft trace overhead: %s, %ld CPUs, load average %.2f %.2f %.2f%s\n", cpu, bench_nproc(), load[0],
           load[1], load[2], quick ? " (--quick: smoke-test sizes, figures not meaningful)" : "");
    size_t tiny = quick ? 200000 : 5000000, slow = quick ? 40 : 400;
    int reps = quick ? 1 : 5;

    pair a = compare("threads", WEFT_FN(empty), tiny, reps, path);
    pair b = compare("threads", WEFT_FN(spin_1ms), slow, reps, path);
    pair c = compare("processes", WEFT_FN(spin_1ms), slow, reps, path);
    remove(path);

    printf("\n| row | map | trace off | trace on | on vs off | target |\n|---|---|---|---|---|---|\n");
    printf("| a | %zu empty tasks, threads x2 | %.1f ns/item | %.1f ns/item | %+.1f%% (%ld batches: %+.2f us each) | off: one branch per batch |\n",
           tiny, a.off * 1e9 / (double)tiny, a.on * 1e9 / (double)tiny, 100.0 * (a.on - a.off) / a.off, a.batches,
           a.batches > 0 ? (a.on - a.off) * 1e6 / (double)a.batches : 0.0);
    printf("| b | %zu tasks of 1 ms, threads x2 | %.1f ms | %.1f ms | %+.1f%% | <= 5%% %s |\n", slow, b.off * 1e3,
           b.on * 1e3, 100.0 * (b.on - b.off) / b.off, (b.on - b.off) / b.off <= 0.05 ? "met" : "NOT MET");
    printf("| c | %zu tasks of 1 ms, processes x2 | %.1f ms | %.1f ms | %+.1f%% | <= 5%% %s |\n", slow, c.off * 1e3,
           c.on * 1e3, 100.0 * (c.on - c.off) / c.off, (c.on - c.off) / c.off <= 0.05 ? "met" : "NOT MET");
    printf("\nmedians of %d alternating repetitions of the map alone (starting the trace and writing the file at its stop are outside the timing).\n", reps);
    return 0;
}
