/* The threads backend under stress: imbalanced work, concurrent callers, deep nesting,
 * pool churn, sleeping workers, worker ids, more workers than CPUs. */
#define _GNU_SOURCE
#include "check.h"
#include "test_tasks.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Sanitizers reserve terabytes of address space: no address-space limit under them. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static weft_pool *open_threads(int n_jobs, int batch_size) {
    weft_options o;
    weft_options_init(&o);
    o.backend = "threads";
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}

/* ---------------------------------------------------------------- tasks */

typedef struct work_in {
    int64_t x;
    int32_t sleep_ms; /* off the CPU: lets every worker run whatever the machine */
    int32_t spin_us;  /* on the CPU */
} work_in;
typedef struct work_out {
    int64_t y;
    int32_t worker, level;
} work_out;

static int64_t f(int64_t x) { return x * 3 + 1; }

static int work(weft_task *t) {
    const work_in *in = weft_input(t);
    if (in->sleep_ms) sleep_ms(in->sleep_ms);
    if (in->spin_us) {
        uint64_t until = now_ns() + (uint64_t)in->spin_us * 1000u;
        while (now_ns() < until) {
        }
    }
    work_out out = {f(in->x), weft_worker_id(t), weft_nesting_level(t)};
    return weft_output(t, &out, sizeof out);
}
WEFT_TASK(work)

/* A tree of nested maps: depth levels below this one, `fanout` children each. */
typedef struct deep_in {
    int32_t depth, fanout;
    weft_pool *pool; /* NULL: nested calls join the pool they run on */
} deep_in;
typedef struct deep_out {
    int64_t leaves, sum;
    int32_t max_worker, max_level, bad;
} deep_out;

WEFT_TASK_DECLARE(deep); /* it maps itself */
static int deep(weft_task *t) {
    const deep_in *in = weft_input(t);
    deep_out out = {1, (int64_t)weft_task_index(t), weft_worker_id(t), weft_nesting_level(t), 0};
    if (in->depth > 0) {
        deep_in kids_in[16];
        deep_out kids_out[16];
        if (in->fanout > 16) return weft_fail(t, "fanout %d", in->fanout);
        for (int i = 0; i < in->fanout; i++) kids_in[i] = (deep_in){in->depth - 1, in->fanout, in->pool};
        int rc = weft_map(in->pool, WEFT_FN(deep), kids_in, sizeof kids_in[0], (size_t)in->fanout,
                          kids_out, sizeof kids_out[0]);
        if (rc) return weft_fail(t, "nested map at level %d: %s", weft_nesting_level(t),
                                 weft_last_error()->message);
        out.leaves = 0;
        out.sum = 0;
        for (int i = 0; i < in->fanout; i++) {
            const deep_out *k = &kids_out[i];
            out.leaves += k->leaves;
            out.sum += k->sum;
            out.bad += k->bad;
            if (k->max_worker > out.max_worker) out.max_worker = k->max_worker;
            if (k->max_level > out.max_level) out.max_level = k->max_level;
            /* every child of this task runs one level deeper */
            if (k->max_level != weft_nesting_level(t) + in->depth) out.bad++;
        }
    }
    return weft_output(t, &out, sizeof out);
}
WEFT_TASK(deep)

/* Sum of leaf indexes in a full tree of `fanout` and `depth` below one node. */
static int64_t leaf_index_sum(int depth, int fanout) {
    if (depth == 0) return 0; /* filled in by the caller: the node's own index */
    int64_t per_child_subtree = leaf_index_sum(depth - 1, fanout), sum = 0;
    for (int i = 0; i < fanout; i++) sum += depth == 1 ? i : per_child_subtree;
    return sum;
}

/* ---------------------------------------------------------------- checks */

/* Run n work items, the first `slow` of them sleeping `ms`; check results. Returns a bit
 * per worker that ran a slow item. */
static unsigned run_work(weft_pool *pool, size_t n, size_t slow, int ms, int spin_us,
                         int n_jobs, double *seconds) {
    work_in *in = malloc(n * sizeof *in);
    work_out *out = malloc(n * sizeof *out);
    for (size_t i = 0; i < n; i++) {
        in[i] = (work_in){(int64_t)i * 7 - 3, i < slow ? ms : 0, i < slow ? spin_us : 0};
        out[i] = (work_out){-1, -1, -1};
    }
    uint64_t t0 = now_ns();
    CHECK_EQ(weft_map(pool, WEFT_FN(work), in, sizeof *in, n, out, sizeof *out), 0);
    if (seconds) *seconds = (double)(now_ns() - t0) * 1e-9;
    size_t bad = 0;
    unsigned slow_workers = 0;
    for (size_t i = 0; i < n; i++) {
        bad += out[i].y != f(in[i].x) || out[i].worker < 0 || out[i].worker >= n_jobs || out[i].level != 0;
        if (i < slow && out[i].worker >= 0 && out[i].worker < 32) slow_workers |= 1u << out[i].worker;
    }
    CHECK_EQ(bad, 0);
    free(in);
    free(out);
    return slow_workers;
}

static int popcount(unsigned x) {
    int n = 0;
    for (; x; x &= x - 1) n++;
    return n;
}

static void check_imbalanced(void) {
    for (int n_jobs = 2; n_jobs <= 4; n_jobs++) {
        weft_pool *pool = open_threads(n_jobs, 0);
        if (!pool) return;
        /* the first 8 items sleep 15 ms, the other 20000 are instant: thieves must split
         * the caller's slot down to single items for the slow ones to spread */
        double s;
        unsigned slow = run_work(pool, 20008, 8, 15, 0, n_jobs, &s);
        CHECK(popcount(slow) >= 2);
        printf("imbalanced (sleep), n_jobs %d: %.3f s, slow items on %d workers\n", n_jobs, s, popcount(slow));
        /* CPU-bound variant: the first 1% spin 1 ms each */
        run_work(pool, 5000, 50, 0, 1000, n_jobs, &s);
        printf("imbalanced (spin), n_jobs %d: %.3f s\n", n_jobs, s);
        /* and the last items slow instead */
        work_in in[64];
        work_out out[64];
        for (int i = 0; i < 64; i++) in[i] = (work_in){i, i >= 60 ? 10 : 0, 0};
        CHECK_EQ(weft_map(pool, WEFT_FN(work), in, sizeof in[0], 64, out, sizeof out[0]), 0);
        for (int i = 0; i < 64; i++) CHECK_EQ(out[i].y, f(i));
        weft_pool_close(pool);
    }
}

/* ---- several threads calling weft_map on one pool at once */

typedef struct caller {
    weft_pool *pool;
    int id, n_jobs, rounds;
    int bad, rc_bad, errors_seen_wrong;
} caller;

static void *caller_main(void *p) {
    caller *c = p;
    for (int r = 0; r < c->rounds; r++) {
        size_t n = (size_t)((r * 977 + c->id * 131) % 4000) + 1;
        int64_t *in = malloc(n * sizeof *in), *out = malloc(n * sizeof *out);
        for (size_t i = 0; i < n; i++) in[i] = (int64_t)i + c->id * 100000 + r, out[i] = -1;
        int rc = weft_map(c->pool, WEFT_FN(square), in, 8, n, out, 8);
        if (rc != 0 || weft_last_error()->code != WEFT_OK) c->rc_bad++;
        for (size_t i = 0; i < n; i++) c->bad += out[i] != in[i] * in[i];
        free(in);
        free(out);
        /* one caller also fails now and then: its error must stay its own */
        if (c->id == 3 && r % 3 == 0) {
            int32_t ints[100], outs[100];
            for (int i = 0; i < 100; i++) ints[i] = i;
            if (weft_map(c->pool, WEFT_FN(fail_at_13), ints, 4, 100, outs, 4) != WEFT_ETASK ||
                weft_last_error()->task_index != 13 ||
                strcmp(weft_last_error()->message, "unlucky 13") != 0)
                c->errors_seen_wrong++;
        }
        /* and one runs nested maps on the shared pool */
        if (c->id == 1 && r % 4 == 0) {
            int32_t ns[20];
            int64_t sums[20];
            for (int i = 0; i < 20; i++) ns[i] = i * 10;
            if (weft_map(c->pool, WEFT_FN(nested_sum), ns, 4, 20, sums, 8) != 0) c->rc_bad++;
            for (int i = 0; i < 20; i++) {
                int64_t want = 0;
                for (int k = 0; k < ns[i]; k++) want += (int64_t)k * k;
                c->bad += sums[i] != want;
            }
        }
    }
    return NULL;
}

static void run_callers(weft_pool *pool, int n_jobs, int rounds) {
    pthread_t th[4];
    caller c[4];
    for (int i = 0; i < 4; i++) {
        c[i] = (caller){pool, i, n_jobs, rounds, 0, 0, 0};
        CHECK_EQ(pthread_create(&th[i], NULL, caller_main, &c[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(pthread_join(th[i], NULL), 0);
        CHECK_EQ(c[i].bad, 0);
        CHECK_EQ(c[i].rc_bad, 0);
        CHECK_EQ(c[i].errors_seen_wrong, 0);
    }
}

static void check_concurrent_callers(void) {
    int widths[] = {1, 2, 3, 8};
    int batches[] = {0, 5};
    for (int w = 0; w < 4; w++)
        for (int b = 0; b < 2; b++) {
            weft_pool *pool = open_threads(widths[w], batches[b]);
            if (!pool) return;
            int before = check_failed;
            run_callers(pool, widths[w], 40);
            if (check_failed != before)
                fprintf(stderr, "  ^ concurrent callers, n_jobs %d, batch %d\n", widths[w], batches[b]);
            weft_pool_close(pool);
        }
    /* the shared default pool, created by whichever caller comes first */
    CHECK_EQ(setenv("WEFT_N_JOBS", "3", 1), 0);
    weft_shutdown();
    run_callers(NULL, 3, 20);
    unsetenv("WEFT_N_JOBS");
    weft_shutdown();
}

/* ---- nesting */

static void check_nested(int n_jobs, int explicit_pool) {
    weft_pool *pool = open_threads(n_jobs, 0);
    if (!pool) return;
    int fanout = 5, depth = 3, top = 6;
    deep_in in[6];
    deep_out out[6];
    for (int i = 0; i < top; i++) in[i] = (deep_in){depth, fanout, explicit_pool ? pool : NULL};
    CHECK_EQ(weft_map(pool, WEFT_FN(deep), in, sizeof in[0], (size_t)top, out, sizeof out[0]), 0);
    if (weft_last_error()->code) fprintf(stderr, "nested: %s\n", weft_last_error()->message);
    for (int i = 0; i < top; i++) {
        CHECK_EQ(out[i].leaves, 125); /* 5^3 */
        CHECK_EQ(out[i].max_level, 3);
        CHECK_EQ(out[i].bad, 0);
        CHECK(out[i].max_worker >= 0 && out[i].max_worker < n_jobs);
        CHECK_EQ(out[i].sum, leaf_index_sum(depth, fanout));
    }

    /* a failure deep down surfaces at the top with the inner message */
    in[2].fanout = 17;
    CHECK_EQ(weft_map(pool, WEFT_FN(deep), in, sizeof in[0], (size_t)top, out, sizeof out[0]), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 2);
    CHECK_HAS(weft_last_error()->message, "fanout 17");
    weft_pool_close(pool);
}

/* ---- pool churn, sleeping workers, widths */

static void check_open_close(void) {
    uint64_t t0 = now_ns();
    for (int i = 0; i < 200; i++) {
        weft_pool *pool = open_threads(1 + i % 5, 0);
        if (!pool) return;
        CHECK_EQ(weft_pool_n_jobs(pool), 1 + i % 5);
        if (i % 4 == 1) {
            int64_t in[50], out[50];
            for (int k = 0; k < 50; k++) in[k] = k + i;
            CHECK_EQ(weft_map(pool, WEFT_FN(square), in, 8, 50, out, 8), 0);
            CHECK_EQ(out[49], (int64_t)(49 + i) * (49 + i));
        }
        weft_pool_close(pool); /* often before the workers even got going */
    }
    printf("200 x open/close: %.3f s\n", (double)(now_ns() - t0) * 1e-9);
}

static void check_after_sleep(void) {
    weft_pool *pool = open_threads(4, 0);
    if (!pool) return;
    for (int round = 0; round < 3; round++) {
        sleep_ms(50); /* far past the spin: every worker is asleep on the condition */
        /* 16 items of 5 ms each: only woken workers can share them */
        unsigned who = run_work(pool, 16, 16, 5, 0, 4, NULL);
        CHECK(popcount(who) >= 2);
        run_work(pool, 10000, 0, 0, 0, 4, NULL);
    }
    /* a single item after a sleep, and an empty map */
    sleep_ms(50);
    run_work(pool, 1, 1, 1, 0, 4, NULL);
    CHECK_EQ(weft_map(pool, WEFT_FN(square), NULL, 8, 0, NULL, 8), 0);
    weft_pool_close(pool);
}

static void check_worker_ids(void) {
    for (int n_jobs = 1; n_jobs <= 9; n_jobs++) {
        weft_pool *pool = open_threads(n_jobs, 0);
        if (!pool) return;
        int32_t (*who)[2] = malloc(20000 * sizeof *who);
        CHECK_EQ(weft_map(pool, WEFT_FN(whoami), NULL, 0, 20000, who, sizeof *who), 0);
        size_t bad = 0;
        for (int i = 0; i < 20000; i++) bad += who[i][0] < 0 || who[i][0] >= n_jobs || who[i][1] != 0;
        CHECK_EQ(bad, 0);
        free(who);
        /* nested maps report ids of the same pool */
        check_nested(n_jobs, 0);
        weft_pool_close(pool);
    }
}

static void check_more_workers_than_cpus(void) {
    int cpus = weft_cpu_count();
    int n_jobs = cpus * 4 > 8 ? cpus * 4 : 8;
    weft_pool *pool = open_threads(n_jobs, 0);
    if (!pool) return;
    CHECK_EQ(weft_pool_n_jobs(pool), n_jobs);
    /* sleeping tasks: every worker can be busy at once, whatever the CPU count */
    size_t n = (size_t)n_jobs * 4;
    double s;
    unsigned who = run_work(pool, n, n, 20, 0, n_jobs, &s);
    double serial = (double)n * 0.020;
    printf("%d workers on %d CPUs: %zu x 20 ms sleeps in %.3f s (serial %.2f s), %d workers used\n",
           n_jobs, cpus, n, s, serial, popcount(who));
    CHECK(popcount(who) > cpus);
    CHECK(s < serial / 2);
    /* and CPU-bound work is still right */
    run_work(pool, 100000, 100, 0, 100, n_jobs, NULL);
    weft_pool_close(pool);
}

/* In a child with little address space: a pool too wide to allocate, or to start all
 * its threads, fails with an error (no crash, nothing left running) and a pool of
 * normal width works after it. Exit status: a bit per failed check. */
static int start_failures_child(void) {
    struct rlimit lim = {(rlim_t)1 << 30, (rlim_t)1 << 30}; /* 1 GiB */
    if (setrlimit(RLIMIT_AS, &lim) != 0) return 64;
    int fails = 0;
    weft_pool *pool = (weft_pool *)1;
    weft_options o;
    weft_options_init(&o);
    o.backend = "threads";
    o.n_jobs = INT_MAX; /* the per-worker arrays alone need 16 GiB each */
    int rc = weft_pool_open(&pool, &o);
    if (rc != WEFT_ENOMEM && rc != WEFT_ESYS) fails |= 1;
    if (pool != NULL) fails |= 2;
    o.n_jobs = 100000; /* arrays fit; 8 MiB thread stacks run out first */
    pool = (weft_pool *)1;
    rc = weft_pool_open(&pool, &o);
    if (rc != WEFT_ESYS && rc != WEFT_ENOMEM) fails |= 4;
    if (pool != NULL) fails |= 8;
    if (!strstr(weft_last_error()->message, "could not start")) fails |= 16;
    o.n_jobs = 3;
    int64_t in[100], out[100];
    for (int i = 0; i < 100; i++) in[i] = i;
    if (weft_pool_open(&pool, &o) != 0 || weft_map(pool, WEFT_FN(square), in, 8, 100, out, 8) != 0 ||
        out[99] != 99 * 99)
        fails |= 32;
    weft_pool_close(pool);
    return fails;
}

static void check_start_failures(void) {
    if (UNDER_SANITIZER) {
        printf("start failures: skipped under a sanitizer (needs an address-space limit)\n");
        return;
    }
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(start_failures_child());
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    if (WIFSIGNALED(status)) fprintf(stderr, "start failures: child killed by signal %d\n", WTERMSIG(status));
    else if (WEXITSTATUS(status)) fprintf(stderr, "start failures: bits 0x%x\n", WEXITSTATUS(status));
}

int main(void) {
    alarm(240);
    check_start_failures(); /* a deadlock fails the test here rather than at ctest's timeout */
    check_imbalanced();
    check_concurrent_callers();
    check_nested(2, 0);
    check_nested(2, 1);
    check_nested(3, 1);
    check_open_close();
    check_after_sleep();
    check_worker_ids();
    check_more_workers_than_cpus();
    weft_shutdown();
    return CHECK_DONE();
}
