/* The processes backend under real crashes: a task that aborts on its first attempt is
 * retried on a fresh worker (maps, iterators, reductions), one that always aborts fails
 * with WEFT_ECRASHED naming it, collect-all keeps going past a crash, tasks that ignore a
 * cancellation are killed after a grace period. Results must equal the sequential ones. */
#define _GNU_SOURCE
#include "check.h"
#include "test_parts.h"
#include "weft.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { CALM, ABORT_ONCE, ABORT_ALWAYS, FAIL_THEN_ABORT };

/* Input of the crashing task: where its markers go and what it does. */
typedef struct crash_in {
    char dir[64];
    int32_t how;
    int32_t pad;
} crash_in;

static double value_of(size_t i) { /* magnitudes apart, so summation order shows */
    return (i % 3 == 0 ? 1e16 : 1.0) * (1.0 + (double)(i % 7) * 0.1) * (i % 2 ? -1 : 1);
}

/* ABORT_ONCE leaves a marker file the first time and aborts; the retry finds the marker
 * and succeeds. Output: value_of(index). */
static int crash_once(weft_task *t) {
    const crash_in *in = weft_input(t);
    if (in->how == ABORT_ALWAYS) abort();
    if (in->how == FAIL_THEN_ABORT) { /* attempt k leaves marker "index.k"; odd ones abort */
        for (int k = 0; k < 64; k++) {
            char path[128];
            snprintf(path, sizeof path, "%s/%zu.%d", in->dir, weft_task_index(t), k);
            int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
            if (fd < 0) continue;
            close(fd);
            if (k % 2) abort();
            return weft_fail(t, "attempt %d fails", k);
        }
        return weft_fail(t, "more than 64 attempts");
    }
    if (in->how == ABORT_ONCE) {
        char path[128];
        snprintf(path, sizeof path, "%s/%zu", in->dir, weft_task_index(t));
        int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0600);
        if (fd >= 0) {
            close(fd);
            abort();
        }
        if (errno != EEXIST) return weft_fail(t, "marker %s: errno %d", path, errno);
    }
    double x = value_of(weft_task_index(t));
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(crash_once)

/* Counts its real executions in a shared region (one counter per item); the items whose
 * index is a multiple of 97 abort on their first attempt. Output: value_of(index). */
typedef struct counted_in {
    uint64_t region; /* a weft_shared id: _Atomic int counters[n] */
} counted_in;

static int count_runs(weft_task *t) {
    const counted_in *in = weft_input(t);
    _Atomic int *runs = weft_shared_ptr((weft_shared){in->region});
    size_t i = weft_task_index(t);
    if (!runs) return weft_fail(t, "no counters");
    int before = atomic_fetch_add(&runs[i], 1);
    if (i % 97 == 0 && before == 0) abort();
    double x = value_of(i);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(count_runs)

/* Ignores cancellation: sleeps 30 s. */
static int sleep_long(weft_task *t) {
    (void)t;
    sleep(30);
    return 0;
}
WEFT_TASK(sleep_long)

static weft_pool *open_pool(const char *backend, int n_jobs, int batch_size, int retries) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    o.retries = retries;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}

#define N 64
#define N_REDUCE 4096 /* above 1024: chunks of several tasks */
static crash_in inputs[N_REDUCE];
static char dir_template[] = "/tmp/weft-crash-XXXXXX";
static char *dir;

/* Fresh marker folder; items in `crashing` get `how`, the others run calmly. */
static void plan(int how, const int *crashing, int n_crashing) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -f %s/*", dir);
    CHECK_EQ(system(cmd), 0);
    for (int i = 0; i < N_REDUCE; i++) {
        memset(&inputs[i], 0, sizeof inputs[i]);
        snprintf(inputs[i].dir, sizeof inputs[i].dir, "%s", dir);
    }
    for (int k = 0; k < n_crashing; k++) inputs[crashing[k]].how = how;
}

static int marker_exists(int i) {
    char path[128];
    snprintf(path, sizeof path, "%s/%d", dir, i);
    return access(path, F_OK) == 0;
}

static void test_map_retries(void) {
    static const int crashing[] = {0, 3, 20, 21, 63};
    for (int batch = 0; batch <= 8; batch += 8) {
        weft_pool *pool = open_pool("processes", 2, batch, 1);
        plan(ABORT_ONCE, crashing, 5);
        double out[N];
        memset(out, 0, sizeof out);
        CHECK_EQ(weft_map(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, out, sizeof out[0]), 0);
        size_t bad = 0;
        for (int i = 0; i < N; i++) bad += out[i] != value_of((size_t)i); /* none lost */
        CHECK_EQ(bad, 0);
        for (int k = 0; k < 5; k++) CHECK(marker_exists(crashing[k])); /* they did crash */

        /* variable-size maps re-run the unreported items of a crashed batch */
        plan(ABORT_ONCE, crashing, 5);
        weft_bytes in[N], outs[N];
        for (int i = 0; i < N; i++) in[i].data = &inputs[i], in[i].size = sizeof inputs[i];
        CHECK_EQ(weft_map_bytes(pool, WEFT_FN(crash_once), in, N, outs), 0);
        bad = 0;
        for (int i = 0; i < N; i++)
            bad += outs[i].size != 8 || *(const double *)outs[i].data != value_of((size_t)i);
        CHECK_EQ(bad, 0);
        weft_bytes_free(outs, N);
        weft_pool_close(pool);
    }
}

/* retries = 1: a crashed item runs twice, every other one once, whatever the worker had
 * finished (reported or still buffered) when it died. Fixed-size and variable-size maps,
 * an ordered iterator, collect-all; automatic batches (bursts of small ones) and fixed. */
#define N_COUNTED 3000
static void test_retries_run_once(void) {
    static counted_in in[N_COUNTED];
    static double out[N_COUNTED];
    weft_shared region;
    CHECK_EQ(weft_shared_alloc(&region, N_COUNTED * sizeof(_Atomic int)), 0);
    _Atomic int *runs = weft_shared_ptr(region);
    for (int i = 0; i < N_COUNTED; i++) in[i].region = region.id;
    for (int batch = 0; batch <= 16; batch += 16)
        for (int kind = 0; kind < 4; kind++) {
            weft_pool *pool = open_pool("processes", 2, batch, 1);
            for (int i = 0; i < N_COUNTED; i++) atomic_store(&runs[i], 0);
            size_t wrong = 0;
            if (kind == 0) {
                CHECK_EQ(weft_map(pool, WEFT_FN(count_runs), in, sizeof in[0], N_COUNTED, out,
                                  sizeof out[0]), 0);
                for (int i = 0; i < N_COUNTED; i++) wrong += out[i] != value_of((size_t)i);
            } else if (kind == 1) {
                static weft_bytes bin[N_COUNTED], bout[N_COUNTED];
                for (int i = 0; i < N_COUNTED; i++) bin[i] = (weft_bytes){&in[i], sizeof in[i]};
                CHECK_EQ(weft_map_bytes(pool, WEFT_FN(count_runs), bin, N_COUNTED, bout), 0);
                for (int i = 0; i < N_COUNTED; i++)
                    wrong += bout[i].size != 8 || *(const double *)bout[i].data != value_of((size_t)i);
                weft_bytes_free(bout, N_COUNTED);
            } else if (kind == 2) {
                weft_iter *it;
                weft_iter_options io = {1, 512, 0};
                CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(count_runs), in, sizeof in[0], N_COUNTED, &io), 0);
                weft_result r;
                size_t got = 0;
                while (weft_next(it, &r) == 1)
                    wrong += r.index != got++ || r.size != 8 || *(const double *)r.data != value_of(r.index);
                wrong += got != N_COUNTED;
                weft_iter_close(it);
            } else {
                static weft_status st[N_COUNTED];
                CHECK_EQ(weft_map_collect(pool, WEFT_FN(count_runs), in, sizeof in[0], N_COUNTED, out,
                                          sizeof out[0], st), 0);
                for (int i = 0; i < N_COUNTED; i++) wrong += st[i].code != 0 || out[i] != value_of((size_t)i);
                weft_status_free(st, N_COUNTED);
            }
            CHECK_EQ(wrong, 0);
            size_t too_many = 0, crashed_twice = 0;
            for (int i = 0; i < N_COUNTED; i++) {
                int want = i % 97 == 0 ? 2 : 1, got = atomic_load(&runs[i]);
                too_many += got > want;
                crashed_twice += i % 97 == 0 && got == 2;
                if (got > want && too_many <= 3)
                    fprintf(stderr, "batch %d kind %d: item %d ran %d times\n", batch, kind, i, got);
            }
            CHECK_EQ(too_many, 0);
            CHECK_EQ(crashed_twice, (N_COUNTED + 96) / 97);
            weft_pool_close(pool);
        }
    weft_shared_free(region);
}

static void test_map_crash_errors(void) {
    static const int at20[] = {20};
    double out[N];
    /* no retries: the first crash fails the call, naming the task and the signal */
    weft_pool *pool = open_pool("processes", 2, 4, 0);
    plan(ABORT_ONCE, at20, 1);
    CHECK_EQ(weft_map(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, out, sizeof out[0]), WEFT_ECRASHED);
    CHECK_EQ(weft_last_error()->task_index, 20);
    CHECK_HAS(weft_last_error()->message, "killed by signal 6 (SIGABRT) while running task 20");
    weft_pool_close(pool);
    /* retries run out on a task that always crashes */
    pool = open_pool("processes", 2, 4, 2);
    plan(ABORT_ALWAYS, at20, 1);
    CHECK_EQ(weft_map(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, out, sizeof out[0]), WEFT_ECRASHED);
    CHECK_EQ(weft_last_error()->task_index, 20);
    CHECK_HAS(weft_last_error()->message, "while running task 20");
    CHECK_HAS(weft_last_error()->message, "the last of its 3 attempts");
    /* a task that fails, then crashes on its retry inside the worker: the attempts before
       a death count too, so the task runs retries + 1 times in all (fail, crash, fail),
       not that many per worker */
    plan(FAIL_THEN_ABORT, at20, 1);
    CHECK_EQ(weft_map(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, out, sizeof out[0]), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 20);
    CHECK_HAS(weft_last_error()->message, "attempt 2 fails");
    int attempts = 0;
    for (int k = 0; k < 64; k++) {
        char path[128];
        snprintf(path, sizeof path, "%s/20.%d", dir, k);
        attempts += access(path, F_OK) == 0;
    }
    CHECK_EQ(attempts, 3);
    /* collect-all: the crash is item 20's status, every other item succeeds */
    weft_status st[N];
    for (int i = 0; i < N; i++) out[i] = -1;
    CHECK_EQ(weft_map_collect(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, out, sizeof out[0], st), WEFT_ETASK);
    size_t bad = 0;
    for (int i = 0; i < N; i++)
        if (i != 20) bad += st[i].code != 0 || out[i] != value_of((size_t)i);
    CHECK_EQ(bad, 0);
    CHECK_EQ(st[20].code, WEFT_ECRASHED);
    CHECK(st[20].message && strstr(st[20].message, "SIGABRT"));
    CHECK_EQ(out[20], -1); /* a failed item's output is left alone */
    weft_status_free(st, N);
    weft_pool_close(pool);
}

static void test_iterator_crashes(void) {
    static const int crashing[] = {1, 2, 30, 62};
    weft_pool *pool = open_pool("processes", 3, 0, 1);
    for (int ordered = 0; ordered < 2; ordered++) {
        plan(ABORT_ONCE, crashing, 4);
        weft_iter_options io = {ordered, 16, 0};
        weft_iter *it;
        CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, &io), 0);
        unsigned char seen[N] = {0};
        size_t count = 0, bad = 0;
        weft_result r;
        int rc;
        while ((rc = weft_next(it, &r)) == 1) {
            if (ordered && r.index != count) bad++;
            if (r.index >= N || seen[r.index]++ || r.size != 8 || *(const double *)r.data != value_of(r.index)) bad++;
            count++;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(count, N);
        CHECK_EQ(bad, 0);
        weft_iter_close(it);
    }
    weft_pool_close(pool);

    /* collect mode without retries: the crashed item is a result, the stream goes on */
    static const int at17[] = {17};
    pool = open_pool("processes", 2, 0, 0);
    plan(ABORT_ALWAYS, at17, 1);
    weft_iter_options io = {0, 8, 1};
    weft_iter *it;
    CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, &io), 0);
    size_t count = 0, crashed = 0;
    weft_result r;
    int rc;
    while ((rc = weft_next(it, &r)) == 1) {
        count++;
        if (r.code) {
            crashed++;
            CHECK_EQ(r.index, 17);
            CHECK_EQ(r.code, WEFT_ECRASHED);
            CHECK(r.message && strstr(r.message, "while running task 17"));
        } else {
            CHECK(r.size == 8 && *(const double *)r.data == value_of(r.index));
        }
    }
    CHECK_EQ(rc, 0);
    CHECK_EQ(count, N);
    CHECK_EQ(crashed, 1);
    weft_iter_close(it);
    weft_pool_close(pool);
}

static void fsum_init(void *acc, void *user) {
    (void)user;
    *(double *)acc = 0;
}
static void fsum_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size;
    double scale = user ? *(const double *)user : 1.0;
    *(double *)acc += *(const double *)out * scale;
}
static void fsum_combine(void *acc, const void *other, void *user) {
    (void)user;
    *(double *)acc += *(const double *)other;
}

/* {items folded, sum of each output / 1e15 truncated} */
static void count_init(void *acc, void *user) {
    (void)user;
    memset(acc, 0, 2 * sizeof(int64_t));
}
static void count_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size, (void)user;
    int64_t *a = acc;
    a[0]++;
    a[1] += (int64_t)(*(const double *)out / 1e15);
}
static void count_combine(void *acc, const void *other, void *user) {
    (void)user;
    int64_t *a = acc;
    const int64_t *b = other;
    a[0] += b[0];
    a[1] += b[1];
}

static void test_reduce_crashes(void) {
    static const int crashing[] = {5, 6, 4001}; /* 5 and 6: after 4, in its chunk */
    weft_reducer fsum = {sizeof(double), fsum_init, fsum_fold, fsum_combine, NULL, 1};
    double reference = 0, got = 0;
    plan(CALM, NULL, 0);
    weft_pool *seq = open_pool("sequential", 1, 0, 0);
    CHECK_EQ(weft_reduce(seq, WEFT_FN(crash_once), inputs, sizeof inputs[0], N_REDUCE, 8, &fsum, &reference), 0);
    weft_pool_close(seq);
    for (int n_jobs = 1; n_jobs <= 3; n_jobs++) {
        weft_pool *pool = open_pool("processes", n_jobs, 0, 1);
        /* deterministic: a crashed chunk restarts from a fresh accumulator, same bits */
        plan(ABORT_ONCE, crashing, 3);
        CHECK_EQ(weft_reduce(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N_REDUCE, 8, &fsum, &got), 0);
        CHECK(memcmp(&got, &reference, sizeof got) == 0);
        CHECK(marker_exists(5) && marker_exists(6) && marker_exists(4001));
        /* per worker: every item folded exactly once (integers sum in any order) */
        weft_reducer counted = {sizeof(int64_t[2]), count_init, count_fold, count_combine, NULL, 0};
        plan(ABORT_ONCE, crashing, 3);
        int64_t sum[2] = {0, 0}, want = 0;
        CHECK_EQ(weft_reduce(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N_REDUCE, 8, &counted, sum), 0);
        for (size_t i = 0; i < N_REDUCE; i++) want += (int64_t)(value_of(i) / 1e15);
        CHECK_EQ(sum[0], N_REDUCE);
        CHECK_EQ(sum[1], want);
        weft_pool_close(pool);
    }

    /* reducer.user: in a shared region it reaches the workers; elsewhere it is refused.
     * Deterministic, so the sum has the sequential backend's bits. */
    weft_pool *pool = open_pool("processes", 2, 0, 0);
    plan(CALM, NULL, 0);
    weft_reducer scaled = {sizeof(double), fsum_init, fsum_fold, fsum_combine, NULL, 1};
    double two = 2.0;
    scaled.user = &two;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N_REDUCE, 8, &scaled, &got), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "reducer.user");
    weft_shared h;
    CHECK_EQ(weft_shared_alloc(&h, sizeof(double)), 0);
    *(double *)weft_shared_ptr(h) = 2.0;
    scaled.user = weft_shared_ptr(h);
    seq = open_pool("sequential", 1, 0, 0);
    double want = 0;
    CHECK_EQ(weft_reduce(seq, WEFT_FN(crash_once), inputs, sizeof inputs[0], N_REDUCE, 8, &scaled, &want), 0);
    weft_pool_close(seq);
    CHECK_EQ(weft_reduce(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N_REDUCE, 8, &scaled, &got), 0);
    CHECK(memcmp(&got, &want, sizeof got) == 0);
    CHECK(want != reference); /* the scale was applied */
    weft_shared_free(h);
    weft_pool_close(pool);
}

static int cancel_soon(const weft_progress *p, void *user) {
    (void)p;
    return now_s() > *(double *)user;
}

/* Tasks that never poll weft_cancelled: after a stop their workers are killed once the
 * grace period is over, and the pool goes on with fresh ones. */
static void test_stuck_tasks(void) {
    double cancel_at = now_s() + 0.2;
    weft_options o;
    weft_options_init(&o);
    o.backend = "processes";
    o.n_jobs = 2;
    o.progress = cancel_soon;
    o.progress_user = &cancel_at;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    double t0 = now_s();
    CHECK_EQ(weft_map(pool, WEFT_FN(sleep_long), NULL, 0, 4, NULL, 0), WEFT_ECANCELED);
    double took = now_s() - t0;
    CHECK(took < 5);
    plan(CALM, NULL, 0);
    double out[N];
    cancel_at = now_s() + 1000;
    CHECK_EQ(weft_map(pool, WEFT_FN(crash_once), inputs, sizeof inputs[0], N, out, sizeof out[0]), 0);
    CHECK_EQ(out[N - 1], value_of(N - 1));
    weft_pool_close(pool);
}

int main(void) {
    alarm(240); /* a hang fails instead of blocking CI */
    dir = mkdtemp(dir_template);
    CHECK(dir != NULL);
    if (!dir) return CHECK_DONE();
    static const test_part parts[] = {{"map_retries", test_map_retries},
                                     {"retries_run_once", test_retries_run_once},
                                     {"map_crash_errors", test_map_crash_errors},
                                     {"iterator_crashes", test_iterator_crashes},
                                     {"reduce_crashes", test_reduce_crashes},
                                     {"stuck_tasks", test_stuck_tasks}};
    run_parts(parts, sizeof parts / sizeof parts[0]);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    weft_shutdown();
    return CHECK_DONE();
}
