/* weft overhead benchmark: weft's threads backend against OpenMP, side by side, in one run.
 *
 *   weft_bench_overhead [--quick] [--strict]     (WEFT_BENCH_QUICK=1 is --quick)
 *
 * Rows (see bench/README.md):
 *   a  per-item overhead of weft_map, 10 M empty tasks, batch_size 1   vs OpenMP dynamic,1
 *   b  the same with automatic batching (batch_size 0)                 vs OpenMP static
 *   c  one 2-task map on a warm pool: median and p90 of 20000          vs a 2-iteration
 *                                                                         OpenMP parallel for
 *   d  speed-up of 16 compute-bound ~100 ms tasks on all cores, weft threads vs the
 *      sequential backend (OpenMP dynamic,1 alongside)
 *
 * How the comparison is kept fair. Every side runs THE SAME registered weft task
 * function (`empty` or `spin` below) through THE SAME task context (a weft_task filled by
 * the core's item runner weft__job_run), because the OpenMP loops are plugged into weft
 * as two extra backends through the public backend vtable (core/backend.h): weft_map
 * builds the job exactly as for the threads backend and hands it to an OpenMP loop
 * instead of weft's scheduler. Only the scheduler differs:
 *
 *   weft threads, batch_size 1   per item: claim 1 index from the worker's own slot (a
 *                                spin lock, no sharing unless stolen from), then
 *                                weft__job_run(job, i, i+1, worker) -> fill the context,
 *                                call task->fn(&t), check the result.
 *   OpenMP dynamic,1             per item: libgomp's shared iteration counter hands out
 *                                iteration i (an atomic add on one cache line), then the
 *                                same weft__job_run(job, i, i+1, thread).
 *   weft threads, batch_size 0   per batch (batches grow until one takes ~1 ms): claim a
 *                                range from the own slot, weft__job_run(job, lo, hi, w),
 *                                which per item fills the context, calls task->fn(&t) and
 *                                checks the result.
 *   OpenMP static                the loop is `#pragma omp for schedule(static)`: each
 *                                thread gets one contiguous block. The adapter hands every
 *                                256 consecutive iterations of its block to
 *                                weft__job_run(job, lo, hi, thread) (one call per item would
 *                                charge OpenMP the per-call setup weft's batching saves, so
 *                                the per-item work is the same loop inside weft__job_run on
 *                                both sides). The details section shows that variant too.
 *   sequential                   weft__job_run on chunks of 256 items on the calling thread.
 *
 * Both sides pay weft_map's own entry and exit (option lookup, progress set-up, the
 * error record) once per call: nothing per item. Row c's details also give a bare
 * OpenMP 2-iteration parallel for without weft at all, and the sequential backend's
 * 2-task map (weft_map's fixed cost with no scheduler).
 *
 * The two pools never run at once: each side runs its repetitions as a block, and the
 * program sleeps between blocks so that spinning idle threads of the other runtime
 * (weft spins 0.1 ms, libgomp a few ms) are asleep before the next block starts. */
#define _GNU_SOURCE
#include "bench_util.h"

#include "backend.h" /* weft.h, the backend vtable and weft__job_run */

#include <omp.h>
#include <stdarg.h>

#if defined(__clang__)
#define BENCH_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define BENCH_COMPILER "gcc " __VERSION__
#else
#define BENCH_COMPILER "unknown compiler"
#endif

/* ---------------------------------------------------------------- the task bodies */

/* Rows a, b, c: a task that does nothing (no input, no output). */
static int empty(weft_task *t) {
    (void)t;
    return 0;
}
WEFT_TASK(empty)

/* Row d: a compute-bound task: a chain of `iters` dependent multiply-xorshift steps
 * (about 1 ns each; no memory traffic, so it scales with cores, not with bandwidth).
 * It also reports how long it ran, so the bench can tell scheduling gaps from a machine
 * that other processes slow down. */
typedef struct spin_in {
    uint64_t iters, seed;
} spin_in;
typedef struct spin_out {
    uint64_t x;  /* the result: every backend must give the same */
    uint64_t ns; /* how long the task ran */
} spin_out;
static int spin(weft_task *t) {
    const spin_in *in = weft_input(t);
    uint64_t t0 = bench_now_ns(), x = in->seed;
    for (uint64_t i = 0; i < in->iters; i++) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        x ^= x >> 29;
    }
    spin_out out = {x, bench_now_ns() - t0};
    return weft_output(t, &out, sizeof out);
}
WEFT_TASK(spin)

/* ---------------------------------------------------------------- OpenMP as weft backends */

typedef struct omp_state {
    int n_workers;
} omp_state;

static int omp_start(void *state, int n_workers) {
    ((omp_state *)state)->n_workers = n_workers;
    return 0;
}

/* `#pragma omp parallel for schedule(dynamic, 1)`: one item per iteration. */
static int omp_dynamic1_run(void *state, weft__job *job) {
    const omp_state *st = state;
    size_t n = weft__job_size(job);
#pragma omp parallel for schedule(dynamic, 1) num_threads(st->n_workers)
    for (size_t i = 0; i < n; i++) weft__job_run(job, i, i + 1, omp_get_thread_num());
    return 0;
}

/* `#pragma omp for schedule(static)`: the thread's iterations are gathered into runs of
 * up to STATIC_RUN consecutive indices, each run handed to weft__job_run at once (items
 * still run inside the loop, in order, a run behind at most). */
#define STATIC_RUN 256
static int omp_static_run(void *state, weft__job *job) {
    const omp_state *st = state;
    size_t n = weft__job_size(job);
#pragma omp parallel num_threads(st->n_workers)
    {
        int me = omp_get_thread_num();
        size_t lo = 0, hi = 0; /* this thread's iterations not yet run: [lo, hi) */
#pragma omp for schedule(static) nowait
        for (size_t i = 0; i < n; i++) {
            if (i != hi || hi - lo == STATIC_RUN) {
                if (hi > lo) weft__job_run(job, lo, hi, me);
                lo = i;
            }
            hi = i + 1;
        }
        if (hi > lo) weft__job_run(job, lo, hi, me);
    }
    return 0;
}

/* The same static loop, one weft__job_run per iteration (details only). */
static int omp_static_item_run(void *state, weft__job *job) {
    const omp_state *st = state;
    size_t n = weft__job_size(job);
#pragma omp parallel for schedule(static) num_threads(st->n_workers)
    for (size_t i = 0; i < n; i++) weft__job_run(job, i, i + 1, omp_get_thread_num());
    return 0;
}

#define OMP_BACKEND(var, name_, run_)                                                  \
    static const weft_backend var = {                                                  \
        .version = WEFT_BACKEND_VERSION,                                               \
        .name = name_,                                                                 \
        .caps = WEFT_CAP_SHARED_MEMORY | WEFT_CAP_PARALLEL,                            \
        .state_size = sizeof(omp_state),                                               \
        .start = omp_start,                                                            \
        .run = run_,                                                                   \
        .stop = NULL,                                                                  \
    };
OMP_BACKEND(omp_dynamic1, "openmp-dynamic1", omp_dynamic1_run)
OMP_BACKEND(omp_static, "openmp-static", omp_static_run)
OMP_BACKEND(omp_static_item, "openmp-static-item", omp_static_item_run)

/* ---------------------------------------------------------------- helpers */

static void die(const char *what, int rc) {
    const weft_error *e = weft_last_error();
    fprintf(stderr, "weft_bench_overhead: %s: %s (%s) %s\n", what, weft_error_name(rc),
            weft_strerror(rc), e->message);
    exit(2);
}

static weft_pool *open_pool(const char *backend, int n_jobs, int batch_size) {
    weft_options o = {0};
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    o.verbose = WEFT_NONE;
    weft_pool *p = NULL;
    int rc = weft_pool_open(&p, &o);
    if (rc) die(backend, rc);
    return p;
}

static void map_or_die(weft_pool *p, const weft_task_def *task, const void *in, size_t in_size,
                       size_t n, void *out, size_t out_size) {
    int rc = weft_map(p, task, in, in_size, n, out, out_size);
    if (rc) die(weft_pool_backend(p), rc);
}

#define MAX_SIDES 8
#define MAX_ROUNDS 16

/* Rows a and b: each round maps n empty tasks once on every pool in turn (a pause after
 * each, so no runtime's spinning threads overlap the next); med[k] gets the median
 * seconds of pool k over `rounds` rounds, after one untimed warm-up map per pool. */
static void rounds_empty(weft_pool **pools, int n_pools, size_t n, int rounds, int pause_ms,
                         double *med) {
    double s[MAX_SIDES][MAX_ROUNDS];
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    for (int k = 0; k < n_pools; k++) {
        map_or_die(pools[k], WEFT_FN(empty), NULL, 0, n, NULL, 0);
        bench_sleep_ms(pause_ms);
    }
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < n_pools; k++) {
            uint64_t t0 = bench_now_ns();
            map_or_die(pools[k], WEFT_FN(empty), NULL, 0, n, NULL, 0);
            s[k][r] = (double)(bench_now_ns() - t0) * 1e-9;
            bench_sleep_ms(pause_ms);
        }
    for (int k = 0; k < n_pools; k++) med[k] = bench_median(s[k], (size_t)rounds);
}

/* The bare OpenMP peer of row c: a 2-iteration parallel for, no weft at all; the body
 * calls an empty function through a pointer the compiler cannot see through. */
static void bare_body(size_t i) { (void)i; }
static void (*volatile bare_fn)(size_t) = bare_body;
static void bare_two(int n_threads) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(n_threads)
    for (size_t i = 0; i < 2; i++) bare_fn(i);
}

typedef struct lat {
    double median_us, p90_us;
} lat;

/* Row c: one 2-task map, back to back. `blocks` blocks of `per_block` timed calls per
 * side, the sides taking turns block by block; each block starts with untimed calls so
 * that its pool is warm (threads up and spinning, as in a loop of small maps). A NULL
 * pool is the bare OpenMP loop. */
static void rounds_two(weft_pool **pools, int n_pools, int n_threads, int blocks, int per_block,
                       int pause_ms, lat *out) {
    double *s[MAX_SIDES];
    size_t total = (size_t)blocks * (size_t)per_block;
    for (int k = 0; k < n_pools; k++)
        if (!(s[k] = malloc(total * sizeof *s[k]))) exit(2);
    for (int b = 0; b < blocks; b++)
        for (int k = 0; k < n_pools; k++) {
            for (int i = -per_block / 10 - 10; i < per_block; i++) {
                uint64_t t0 = bench_now_ns();
                if (pools[k])
                    map_or_die(pools[k], WEFT_FN(empty), NULL, 0, 2, NULL, 0);
                else
                    bare_two(n_threads);
                if (i >= 0) s[k][(size_t)b * (size_t)per_block + (size_t)i] = (double)(bench_now_ns() - t0) * 1e-3;
            }
            bench_sleep_ms(pause_ms);
        }
    for (int k = 0; k < n_pools; k++) {
        out[k].median_us = bench_median(s[k], total);
        out[k].p90_us = bench_quantile(s[k], total, 0.9);
        free(s[k]);
    }
}

/* Row d: each round maps the compute tasks once on every pool in turn; pool 0 is the
 * sequential reference. med[k]: median seconds of pool k; speedup[k]: the median over
 * rounds of (sequential time / pool k's time) in the same round, which cancels slow
 * drifts of a shared machine; busy[k]: the median of (time inside tasks / (wall time x
 * workers)), the share of the workers' time spent running tasks: 1 for a perfect
 * schedule even when other processes slow every task down; slow[k]: the median of (time
 * inside tasks / the sequential's in the same round): how much longer a task takes when
 * it shares the machine with the other workers (shared caches, turbo, SMT, a host that
 * time-slices virtual CPUs), which no scheduler can win back. So speed-up is about
 * workers x busy / slow. Every pool's results must equal the sequential ones. */
static void rounds_spin(weft_pool **pools, int n_pools, const spin_in *in, size_t n, int rounds,
                        int pause_ms, double *med, double *speedup, double *busy, double *slow) {
    double s[MAX_SIDES][MAX_ROUNDS], su[MAX_SIDES][MAX_ROUNDS], bu[MAX_SIDES][MAX_ROUNDS];
    double in_tasks[MAX_SIDES][MAX_ROUNDS], sl[MAX_SIDES][MAX_ROUNDS];
    if (rounds > MAX_ROUNDS) rounds = MAX_ROUNDS;
    spin_out *ref = calloc(n, sizeof *ref), *out = calloc(n, sizeof *out);
    if (!ref || !out) exit(2);
    for (int r = 0; r < rounds; r++)
        for (int k = 0; k < n_pools; k++) {
            spin_out *o = k ? out : ref;
            memset(o, 0, n * sizeof *o);
            uint64_t t0 = bench_now_ns();
            map_or_die(pools[k], WEFT_FN(spin), in, sizeof *in, n, o, sizeof *o);
            s[k][r] = (double)(bench_now_ns() - t0) * 1e-9;
            su[k][r] = s[0][r] / s[k][r];
            double inside = 0;
            for (size_t i = 0; i < n; i++) {
                inside += (double)o[i].ns * 1e-9;
                if (o[i].x != ref[i].x) {
                    fprintf(stderr, "weft_bench_overhead: row d: backend '%s' disagrees with sequential\n",
                            weft_pool_backend(pools[k]));
                    exit(2);
                }
            }
            bu[k][r] = inside / (s[k][r] * weft_pool_n_jobs(pools[k]));
            in_tasks[k][r] = inside;
            sl[k][r] = inside / in_tasks[0][r];
            bench_sleep_ms(pause_ms);
        }
    for (int k = 0; k < n_pools; k++) {
        med[k] = bench_median(s[k], (size_t)rounds);
        speedup[k] = bench_median(su[k], (size_t)rounds);
        busy[k] = bench_median(bu[k], (size_t)rounds);
        slow[k] = bench_median(sl[k], (size_t)rounds);
    }
    free(ref);
    free(out);
}

/* "10M", "200k", "16". */
static const char *count_str(size_t n, char *buf, size_t size) {
    if (n >= 1000000 && n % 1000000 == 0)
        snprintf(buf, size, "%zuM", n / 1000000);
    else if (n >= 1000 && n % 1000 == 0)
        snprintf(buf, size, "%zuk", n / 1000);
    else
        snprintf(buf, size, "%zu", n);
    return buf;
}

static int fmt(char *buf, size_t size, const char *f, ...) __attribute__((format(printf, 3, 4)));
static int fmt(char *buf, size_t size, const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, size, f, ap);
    va_end(ap);
    return n < 0 ? 0 : (size_t)n < size ? n : (int)size - 1;
}

#define ROW_FORMAT "%-2s %-40s %-22s %-30s %-7s %-21s %s\n"
static int missed;
static void row(const char *id, const char *what, const char *weft, const char *peer,
                const char *ratio, const char *target, int met) {
    printf(ROW_FORMAT, id, what, weft, peer, ratio, target, met ? "met" : "NOT MET");
    if (!met) missed++;
}

static int env_on(const char *name) {
    const char *v = getenv(name);
    return v && v[0] && strcmp(v, "0") != 0;
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    int quick = env_on("WEFT_BENCH_QUICK"), strict = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = 1;
        else if (strcmp(argv[i], "--strict") == 0)
            strict = 1;
        else {
            fprintf(stderr, "usage: %s [--quick] [--strict]\n"
                            "  --quick   fewer items and shorter tasks (a smoke test in seconds);\n"
                            "            WEFT_BENCH_QUICK=1 does the same\n"
                            "  --strict  exit with status 1 when a target is not met\n",
                    argv[0]);
            return strcmp(argv[i], "--help") == 0 ? 0 : 2;
        }
    }
    const size_t n_items = quick ? 200000 : 10000000; /* rows a and b */
    const int rounds_ab = quick ? 3 : 7;
    const int blocks_c = quick ? 2 : 10, per_block_c = quick ? 1000 : 2000;
    const double task_ms = quick ? 5 : 100; /* row d */
    const int rounds_d = quick ? 1 : 5;
    /* between blocks, so the other runtime's idle threads have stopped spinning (weft
     * spins 0.1 ms, libgomp about 7 ms with OMP_WAIT_POLICY unset) */
    const int pause_ms = quick ? 10 : 50;

    if (weft_backend_register(&omp_dynamic1) || weft_backend_register(&omp_static) ||
        weft_backend_register(&omp_static_item))
        die("registering the OpenMP backends", weft_last_error()->code);
    omp_set_dynamic(0);

    const int n_jobs = weft_cpu_count();
    const int online = (int)sysconf(_SC_NPROCESSORS_ONLN);
    char model[256], nb[32];
    bench_cpu_model(model, sizeof model);
    double load1 = 0;
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf", &load1) != 1) load1 = 0;
        fclose(la);
    }
    printf("weft %s overhead bench (%s mode): n_jobs = %d (weft_cpu_count), OpenMP threads = %d\n",
           weft_version(), quick ? "quick" : "full", n_jobs, n_jobs);
    printf("machine: nproc %ld, %s; compiler %s, OpenMP %d, OMP_WAIT_POLICY %s; load average %.2f\n",
           bench_nproc(), model, BENCH_COMPILER, _OPENMP,
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "unset", load1);
    fflush(stdout);

    weft_pool *w1 = open_pool("threads", n_jobs, 1);
    weft_pool *w0 = open_pool("threads", n_jobs, 0);
    weft_pool *seq = open_pool("sequential", 1, 0);
    weft_pool *od = open_pool("openmp-dynamic1", n_jobs, 0);
    weft_pool *os = open_pool("openmp-static", n_jobs, 0);
    weft_pool *osi = open_pool("openmp-static-item", n_jobs, 0);
    char details[4096];
    size_t dl = 0;
#define DETAIL(...) (dl += (size_t)fmt(details + dl, sizeof details - dl, __VA_ARGS__))

    /* ---- a, b: per-item overhead = wall time of one map / items */
    bench_load l0 = bench_load_now();
    weft_pool *ab_pools[] = {w1, od, w0, os, osi, seq};
    double ab[6];
    rounds_empty(ab_pools, 6, n_items, rounds_ab, pause_ms, ab);
    double per = 1e9 / (double)n_items;
    DETAIL("a, b: median of %d interleaved rounds; sequential backend %.2f ns/item; OpenMP static\n"
           "      with one weft__job_run per iteration %.2f ns/item; other processes used %.0f%% of the CPUs\n",
           rounds_ab, ab[5] * per, ab[4] * per, 100 * bench_load_others(l0, online));

    /* ---- c: one 2-task map on a warm pool */
    l0 = bench_load_now();
    weft_pool *c_pools[] = {w0, od, NULL, seq};
    lat c[4];
    rounds_two(c_pools, 4, n_jobs, blocks_c, per_block_c, pause_ms, c);
    DETAIL("c:    %d calls each, in %d interleaved blocks; bare OpenMP 2-iteration parallel for (no weft)\n"
           "      %.2f us (p90 %.2f); sequential backend's 2-task map (weft_map's fixed cost) %.2f us\n"
           "      (p90 %.2f); other processes used %.0f%% of the CPUs\n",
           blocks_c * per_block_c, blocks_c, c[2].median_us, c[2].p90_us, c[3].median_us,
           c[3].p90_us, 100 * bench_load_others(l0, online));

    /* ---- d: compute-bound speed-up. 16 tasks, or the next multiple of n_jobs, so that a
     * perfect schedule keeps every core busy to the end. */
    size_t n_tasks = 16;
    if (n_tasks % (size_t)n_jobs) n_tasks += (size_t)n_jobs - n_tasks % (size_t)n_jobs;
    spin_in *in = calloc(n_tasks, sizeof *in);
    if (!in) return 2;
    /* calibrate: 1e7 steps (best of 3), then one task of the size that gives, rescaled
     * once more (the clock can change under load); the real size is reported below */
    double ns_per_step = 1e9;
    uint64_t iters = 10000000;
    for (int r = 0; r < 4; r++) {
        spin_in probe = {iters, 1};
        spin_out probe_out;
        map_or_die(seq, WEFT_FN(spin), &probe, sizeof probe, 1, &probe_out, sizeof probe_out);
        double ns = (double)probe_out.ns / (double)probe.iters;
        if (r == 3 || ns < ns_per_step) ns_per_step = ns;
        if (r >= 2) iters = (uint64_t)(task_ms * 1e6 / ns_per_step);
    }
    for (size_t i = 0; i < n_tasks; i++) in[i] = (spin_in){iters, 0x9e3779b97f4a7c15ull * (i + 1)};
    l0 = bench_load_now();
    weft_pool *d_pools[] = {seq, w0, od};
    double d[3], su[3], busy[3], slow[3];
    rounds_spin(d_pools, 3, in, n_tasks, rounds_d, pause_ms, d, su, busy, slow);
    free(in);
    DETAIL("d:    %zu tasks of %.1f ms each (sequential median / tasks); median of %d interleaved rounds:\n"
           "      sequential %.3f s, weft threads %.3f s, OpenMP dynamic,1 %.3f s; results agree;\n"
           "      workers busy running tasks (time in tasks / (wall x workers)): weft %.1f%%, OpenMP %.1f%%;\n"
           "      a task took %.1f%% (weft) / %.1f%% (OpenMP) longer with all workers running than alone;\n"
           "      speed-up = workers x busy / (1 + that); other processes used %.0f%% of the CPUs\n",
           n_tasks, d[0] / (double)n_tasks * 1e3, rounds_d, d[0], d[1], d[2], 100 * busy[1],
           100 * busy[2], 100 * (slow[1] - 1), 100 * (slow[2] - 1), 100 * bench_load_others(l0, online));

    /* ---- the table */
    char w[64], p[64], r[16], t[32], what[64];
    printf("\n" ROW_FORMAT, "", "measure", "weft threads", "OpenMP peer", "ratio", "target", "result");
    count_str(n_items, nb, sizeof nb);
    fmt(what, sizeof what, "ns/item, %s empty tasks, batch_size 1", nb);
    fmt(w, sizeof w, "%.2f", ab[0] * per);
    fmt(p, sizeof p, "dynamic,1  %.2f", ab[1] * per);
    fmt(r, sizeof r, "%.2fx", ab[0] / ab[1]);
    row("a", what, w, p, r, "<= 2x OpenMP", ab[0] <= 2 * ab[1]);

    fmt(what, sizeof what, "ns/item, %s empty tasks, auto batch", nb);
    fmt(w, sizeof w, "%.2f", ab[2] * per);
    fmt(p, sizeof p, "static     %.2f", ab[3] * per);
    fmt(r, sizeof r, "%.2fx", ab[2] / ab[3]);
    row("b", what, w, p, r, "<= 2x OpenMP", ab[2] <= 2 * ab[3]);

    fmt(w, sizeof w, "%.2f (p90 %.2f)", c[0].median_us, c[0].p90_us);
    fmt(p, sizeof p, "dynamic,1  %.2f (p90 %.2f)", c[1].median_us, c[1].p90_us);
    fmt(r, sizeof r, "%.2fx", c[0].median_us / c[1].median_us);
    row("c", "us, one 2-task map, warm pool", w, p, r, "median < 10 us", c[0].median_us < 10);

    fmt(what, sizeof what, "speed-up, %zu x %.0f ms compute tasks", n_tasks, task_ms);
    fmt(w, sizeof w, "%.2fx = %.3f x cores", su[1], su[1] / n_jobs);
    fmt(p, sizeof p, "dynamic,1  %.2fx = %.3f", su[2], su[2] / n_jobs);
    fmt(r, sizeof r, "%.2fx", su[1] / su[2]);
    fmt(t, sizeof t, ">= 0.97 x %d = %.2fx", n_jobs, 0.97 * n_jobs);
    row("d", what, w, p, r, t, su[1] >= 0.97 * n_jobs);

    printf("\n%s", details);
    printf("ratio = weft / OpenMP (a, b, c: lower is better; d: higher is better). %d of 4 targets met.\n",
           4 - missed);
    weft_pool_close(w1);
    weft_pool_close(w0);
    weft_pool_close(seq);
    weft_pool_close(od);
    weft_pool_close(os);
    weft_pool_close(osi);
    return strict && missed ? 1 : 0;
}
