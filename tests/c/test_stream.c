/* Streaming, reducers and fault tolerance, on every backend: iterators (ordered,
 * unordered, lazy sources, early close), reduce (per-worker and deterministic),
 * collect-all errors, retries, task and call timeouts, cancellation. */
#include "check.h"
#include "test_tasks.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* ---- tasks used only here */

static atomic_int attempts[1000];

/* Fails at random (a fixed pseudo-random pattern of item and attempt), ~40 % of tries. */
static int flaky(weft_task *t) {
    size_t i = weft_task_index(t);
    int a = atomic_fetch_add(&attempts[i % 1000], 1);
    uint64_t h = (i * 0x9e3779b97f4a7c15ull) ^ ((uint64_t)a * 0xbf58476d1ce4e5b9ull);
    h ^= h >> 31;
    if (a < 8 && h % 5 < 2) return weft_fail(t, "flaky failure of item %zu, attempt %d", i, a);
    int64_t x = (int64_t)i * 2;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(flaky)

/* Polls its cancellation flag until it turns (task or call timeout). */
static int poll_forever(weft_task *t) {
    while (!weft_cancelled(t)) {
    }
    return weft_fail(t, "gave up when cancelled");
}
WEFT_TASK(poll_forever)

static double now_s(void) {
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Squares its index after a spin of 0-31 iterations that varies from item to item, so
 * items finish out of order and the reader and the workers interleave their results. */
static int jittery_square(weft_task *t) {
    size_t i = weft_task_index(t);
    volatile unsigned spin = (unsigned)((i * 2654435761u) >> 27);
    while (spin) spin--;
    int64_t x = (int64_t)i * (int64_t)i;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(jittery_square)

/* Busy for about 10 ms without polling anything. */
static int busy_10ms(weft_task *t) {
    double end = now_s() + 0.01;
    while (now_s() < end) {
    }
    int32_t one = 1;
    return weft_output(t, &one, sizeof one);
}
WEFT_TASK(busy_10ms)

/* Item 13 fails at once; the others take about 0.2 ms. */
static int slow_but_13(weft_task *t) {
    if (weft_task_index(t) == 13) return weft_fail(t, "unlucky 13");
    double end = now_s() + 0.0002;
    while (now_s() < end) {
    }
    int32_t one = 1;
    return weft_output(t, &one, sizeof one);
}
WEFT_TASK(slow_but_13)

static int f64_value(weft_task *t) {
    size_t i = weft_task_index(t);
    /* values of very different magnitudes, so summation order shows in the bits */
    double x = (i % 3 == 0 ? 1e16 : 1.0) * (1.0 + (double)(i % 7) * 0.1) * (i % 2 ? -1 : 1);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(f64_value)

/* weft_output's checks, which its fast path (8 bytes into a slot) must keep: a second
 * output, and NULL data, are refused. Item 3 of each misbehaves; the others output i. */
static int output_twice(weft_task *t) {
    int64_t x = (int64_t)weft_task_index(t);
    int rc = weft_output(t, &x, sizeof x);
    return rc || x != 3 ? rc : weft_output(t, &x, sizeof x);
}
WEFT_TASK(output_twice)

static int output_null(weft_task *t) {
    int64_t x = (int64_t)weft_task_index(t);
    return weft_output(t, x == 3 ? NULL : &x, sizeof x);
}
WEFT_TASK(output_null)

/* Item 5 says why it might fail but succeeds; item 6 fails without a word: its error
 * must not carry item 5's words. */
static int fail_quietly_at_6(weft_task *t) {
    int64_t x = (int64_t)weft_task_index(t);
    if (x == 5) weft_fail(t, "a word from item 5");
    if (x == 6) return 42;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(fail_quietly_at_6)

/* For the ready-made reducers: int64 values spread over the whole range (their sum wraps),
 * and small whole doubles (exact sums in any order) with a NaN at item 77. */
static int64_t spread_i64(size_t i) { return (int64_t)((uint64_t)i * 0x9E3779B97F4A7C15u); }
static double small_f64(size_t i) { return (double)((i * 7919) % 1000) - 500.0; }
static int spread(weft_task *t) {
    int64_t x = spread_i64(weft_task_index(t));
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(spread)
static int small_or_nan(weft_task *t) {
    size_t i = weft_task_index(t);
    double x = i == 77 ? NAN : small_f64(i);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(small_or_nan)

/* ---- sources */

typedef struct counting_source {
    size_t n, produced;
    int fail_at; /* -1: never */
    char buf[32];
} counting_source;

/* Inputs "0", "1", ... as text of varying length. */
static int next_text(void *user, weft_bytes *in) {
    counting_source *s = user;
    if (s->produced == s->n) return 0;
    if ((int)s->produced == s->fail_at) return WEFT_EINVAL;
    int len = snprintf(s->buf, sizeof s->buf, "%zu", s->produced++);
    in->data = s->buf;
    in->size = (size_t)len;
    return 1;
}

/* ---- reducers */

static void sum_init(void *acc, void *user) {
    (void)user;
    *(int64_t *)acc = 0;
}
static void sum_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size, (void)user;
    *(int64_t *)acc += *(const int64_t *)out;
}
static void sum_combine(void *acc, const void *other, void *user) {
    (void)user;
    *(int64_t *)acc += *(const int64_t *)other;
}
static void sum32_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size, (void)user;
    *(int64_t *)acc += *(const int32_t *)out;
}
static void fsum_init(void *acc, void *user) {
    (void)user;
    *(double *)acc = 0;
}
static void fsum_fold(void *acc, const void *out, size_t size, void *user) {
    (void)size, (void)user;
    *(double *)acc += *(const double *)out;
}
static void fsum_combine(void *acc, const void *other, void *user) {
    (void)user;
    *(double *)acc += *(const double *)other;
}

static int cancel_after_some(const weft_progress *p, void *user) {
    (void)user;
    return p->done > 0 && p->done < p->total;
}

static weft_pool *open_pool(const char *backend, int n_jobs, double task_timeout, double timeout, int retries) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.task_timeout_s = task_timeout;
    o.timeout_s = timeout;
    o.retries = retries;
    o.retry_backoff_s = 0.0001;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    return pool;
}

static void check_iterators(weft_pool *pool) {
    size_t sizes[] = {0, 1, 5, 10000};
    size_t windows[] = {0, 1, 2, 7};
    static int64_t in[10000];
    for (size_t i = 0; i < 10000; i++) in[i] = (int64_t)i;
    for (int ordered = 0; ordered < 2; ordered++)
        for (size_t s = 0; s < 4; s++)
            for (size_t w = 0; w < 4; w++) {
                weft_iter_options io = {ordered, windows[w], 0};
                weft_iter *it = NULL;
                CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(square), in, 8, sizes[s], &io), 0);
                static unsigned char seen[10000];
                memset(seen, 0, sizeof seen);
                size_t count = 0, bad = 0;
                weft_result r;
                int rc;
                while ((rc = weft_next(it, &r)) == 1) {
                    if (ordered && r.index != count) bad++;
                    if (r.index >= sizes[s] || seen[r.index]++)
                        bad++;
                    else if (r.size != 8 || *(const int64_t *)r.data != in[r.index] * in[r.index])
                        bad++;
                    count++;
                }
                CHECK_EQ(rc, 0);
                CHECK_EQ(count, sizes[s]);
                CHECK_EQ(bad, 0);
                CHECK_EQ(weft_next(it, &r), 0); /* stays at the end */
                weft_iter_close(it);
            }

    /* a lazy source is pulled only as far as the window allows */
    counting_source src = {1000000, 0, -1, ""};
    weft_source source = {next_text, &src};
    weft_iter_options io = {1, 64, 0};
    weft_iter *it = NULL;
    CHECK_EQ(weft_imap(&it, pool, WEFT_FN(repeat), &source, &io), 0);
    weft_result r;
    for (int k = 0; k < 10; k++) {
        CHECK_EQ(weft_next(it, &r), 1);
        char want[64];
        int len = snprintf(want, sizeof want, "%d%d", k, k);
        CHECK(r.index == (size_t)k && r.size == (size_t)len && memcmp(r.data, want, (size_t)len) == 0);
    }
    CHECK(src.produced <= 10 + 64);
    weft_iter_close(it); /* early close: nothing more is pulled or run */
    CHECK(src.produced <= 10 + 64);

    /* a failing source ends the stream with its error, after the good results */
    counting_source bad_src = {1000, 0, 50, ""};
    weft_source bad_source = {next_text, &bad_src};
    io.window = 16;
    CHECK_EQ(weft_imap(&it, pool, WEFT_FN(repeat), &bad_source, &io), 0);
    size_t good = 0;
    int rc;
    while ((rc = weft_next(it, &r)) == 1) good++;
    CHECK_EQ(rc, WEFT_EINVAL);
    CHECK(good <= 50);
    CHECK_HAS(weft_last_error()->message, "source");
    weft_iter_close(it);

    /* fail-fast: results before the failure, then the failure */
    int32_t ints[200];
    for (int i = 0; i < 200; i++) ints[i] = i;
    io.window = 8;
    CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(fail_at_13), ints, 4, 200, &io), 0);
    size_t before = 0;
    while ((rc = weft_next(it, &r)) == 1) CHECK_EQ(r.index, before++);
    CHECK_EQ(rc, WEFT_ETASK);
    CHECK(before <= 13);
    CHECK_EQ(weft_last_error()->task_index, 13);
    CHECK_STR(weft_last_error()->message, "unlucky 13");
    CHECK_EQ(weft_next(it, &r), WEFT_ETASK); /* the error sticks */
    weft_iter_close(it);

    /* collect-all: the failure comes back as a result and the stream goes on. Repeated:
     * the reader races the worker that publishes each result (ordered: a run of its own
     * between two runs of successes, in windows that refill many times) */
    io.collect = 1;
    for (int round = 0; round < 200; round++) {
        io.ordered = round % 2;
        io.window = round % 4 == 1 ? 3 : 8;
        CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(fail_at_13), ints, 4, 200, &io), 0);
        size_t total = 0, failures = 0;
        while ((rc = weft_next(it, &r)) == 1) {
            if (io.ordered) CHECK_EQ(r.index, total);
            total++;
            if (r.code) {
                failures++;
                CHECK_EQ(r.index, 13);
                CHECK_EQ(r.code, WEFT_ETASK);
                CHECK(r.message && strcmp(r.message, "unlucky 13") == 0);
            }
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(total, 200);
        CHECK_EQ(failures, 1);
        weft_iter_close(it);
    }

    /* bad input */
    CHECK_EQ(weft_imap_array(&it, pool, NULL, ints, 4, 10, NULL), WEFT_EINVAL);
    CHECK(it == NULL);
    CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(square), NULL, 8, 10, NULL), WEFT_EINVAL);
    weft_source empty = {NULL, NULL};
    CHECK_EQ(weft_imap(&it, pool, WEFT_FN(square), &empty, NULL), WEFT_EINVAL);
    CHECK_EQ(weft_next(NULL, &r), WEFT_EINVAL);
    weft_iter_close(NULL);
}

/* Streams whose items finish out of order: every index comes back exactly once with its
 * value, whichever thread ran it (unordered: the reader keeps what it ran itself, the
 * others publish to a ring that small windows wrap around many times; ordered: in order,
 * each run marked at its first item, over marks an earlier fill left). */
static void check_mixed_finish(weft_pool *pool) {
    static unsigned char seen[20000];
    size_t windows[] = {3, 64, 0, 2, 17, 1000};
    for (size_t w = 0; w < 6; w++) {
        weft_iter_options io = {w >= 3, windows[w], 0};
        weft_iter *it = NULL;
        CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(jittery_square), NULL, 0, 20000, &io), 0);
        memset(seen, 0, sizeof seen);
        size_t count = 0, bad = 0;
        weft_result r;
        int rc;
        while ((rc = weft_next(it, &r)) == 1) {
            if (io.ordered && r.index != count) bad++;
            count++;
            if (r.index >= 20000 || seen[r.index]++ || r.size != 8 ||
                *(const int64_t *)r.data != (int64_t)r.index * (int64_t)r.index)
                bad++;
        }
        CHECK_EQ(rc, 0);
        CHECK_EQ(count, 20000);
        CHECK_EQ(bad, 0);
        weft_iter_close(it);
    }
}

/* Fail-fast in an ordered stream, repeated: the reader waits on one chunk (items before
 * 13) while 13's chunk fails and stops; the stream must still end with 13's failure, not
 * a cancellation. */
static void check_ordered_failure(weft_pool *pool, int rounds) {
    weft_iter_options io = {1, 8, 0};
    size_t wrong_end = 0, wrong_order = 0;
    for (int round = 0; round < rounds; round++) {
        weft_iter *it;
        CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(slow_but_13), NULL, 0, 64, &io), 0);
        weft_result r;
        size_t before = 0;
        int rc;
        while ((rc = weft_next(it, &r)) == 1) wrong_order += r.index != before++;
        const weft_error *e = weft_last_error();
        if (rc != WEFT_ETASK || e->task_index != 13 || strcmp(e->message, "unlucky 13") != 0) {
            if (!wrong_end++)
                fprintf(stderr, "round %d: rc %d, task %lld, \"%s\"\n", round, rc,
                        (long long)e->task_index, e->message);
        }
        wrong_order += before > 13;
        CHECK_EQ(weft_next(it, &r), rc); /* the error sticks */
        weft_iter_close(it);
    }
    CHECK_EQ(wrong_end, 0);
    CHECK_EQ(wrong_order, 0);
}

static void check_reduce(weft_pool *pool, double reference) {
    static int64_t in[100000];
    for (size_t i = 0; i < 100000; i++) in[i] = (int64_t)i;
    weft_reducer sum = {sizeof(int64_t), sum_init, sum_fold, sum_combine, NULL, 0};
    int64_t total = -1;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(square), in, 8, 100000, 8, &sum, &total), 0);
    int64_t want = 0;
    for (int64_t i = 0; i < 100000; i++) want += i * i;
    CHECK_EQ(total, want);
    CHECK_EQ(weft_reduce(pool, WEFT_FN(square), in, 8, 0, 8, &sum, &total), 0);
    CHECK_EQ(total, 0);

    /* deterministic: the same bits whatever the backend and width */
    weft_reducer fsum = {sizeof(double), fsum_init, fsum_fold, fsum_combine, NULL, 1};
    double got = 0;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(f64_value), NULL, 0, 100003, 8, &fsum, &got), 0);
    CHECK(memcmp(&got, &reference, sizeof got) == 0);

    /* failures stop a reduction */
    int32_t ints[100];
    for (int i = 0; i < 100; i++) ints[i] = i;
    weft_reducer isum = {sizeof(int64_t), sum_init, sum32_fold, sum_combine, NULL, 0};
    CHECK_EQ(weft_reduce(pool, WEFT_FN(fail_at_13), ints, 4, 100, 4, &isum, &total), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 13);
    weft_reducer broken = {8, NULL, sum_fold, sum_combine, NULL, 0};
    CHECK_EQ(weft_reduce(pool, WEFT_FN(square), in, 8, 10, 8, &broken, &total), WEFT_EINVAL);
}

/* weft_sum_i64 & co. fold inline in the reduce loop (threads, sequential) or through their
 * fold (other backends): the same results either way, the identity over no items, and
 * outputs of another size refused. */
static void check_ready_made(weft_pool *pool, double reference) {
    enum { N = 30011 };
    uint64_t sum = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    double flo = INFINITY, fhi = -INFINITY;
    for (size_t i = 0; i < N; i++) {
        int64_t x = spread_i64(i);
        sum += (uint64_t)x, lo = x < lo ? x : lo, hi = x > hi ? x : hi;
        if (i == 77) continue; /* the NaN: min and max pass over it */
        double f = small_f64(i);
        flo = f < flo ? f : flo, fhi = f > fhi ? f : fhi;
    }
    const weft_reducer *ints[] = {&weft_sum_i64, &weft_min_i64, &weft_max_i64};
    int64_t int_want[] = {(int64_t)sum, lo, hi}, int_empty[] = {0, INT64_MAX, INT64_MIN};
    const weft_reducer *reals[] = {&weft_min_f64, &weft_max_f64};
    double real_want[] = {flo, fhi}, real_empty[] = {INFINITY, -INFINITY};
    for (int det = 0; det < 2; det++) {
        for (int k = 0; k < 3; k++) {
            weft_reducer r = *ints[k];
            r.deterministic = det;
            int64_t got = 1;
            CHECK_EQ(weft_reduce(pool, WEFT_FN(spread), NULL, 0, N, 8, &r, &got), 0);
            CHECK_EQ(got, int_want[k]);
            CHECK_EQ(weft_reduce(pool, WEFT_FN(spread), NULL, 0, 0, 8, &r, &got), 0);
            CHECK_EQ(got, int_empty[k]);
        }
        for (int k = 0; k < 2; k++) {
            weft_reducer r = *reals[k];
            r.deterministic = det;
            double got = 1;
            CHECK_EQ(weft_reduce(pool, WEFT_FN(small_or_nan), NULL, 0, N, 8, &r, &got), 0);
            CHECK(got == real_want[k]);
            CHECK_EQ(weft_reduce(pool, WEFT_FN(small_or_nan), NULL, 0, 0, 8, &r, &got), 0);
            CHECK(got == real_empty[k]);
        }
    }
    /* the sum of whole numbers is exact in any order; the NaN makes it NaN */
    double got = 0;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(small_or_nan), NULL, 0, 77, 8, &weft_sum_f64, &got), 0);
    double want = 0;
    for (size_t i = 0; i < 77; i++) want += small_f64(i);
    CHECK(got == want);
    CHECK_EQ(weft_reduce(pool, WEFT_FN(small_or_nan), NULL, 0, N, 8, &weft_sum_f64, &got), 0);
    CHECK(isnan(got));
    /* deterministic: the same bits as the program's own deterministic fold */
    weft_reducer det = weft_sum_f64;
    det.deterministic = 1;
    CHECK_EQ(weft_reduce(pool, WEFT_FN(f64_value), NULL, 0, 100003, 8, &det, &got), 0);
    CHECK(memcmp(&got, &reference, sizeof got) == 0);
    /* 4-byte outputs do not fit an 8-byte fold */
    int32_t ints4[10] = {0};
    CHECK_EQ(weft_reduce(pool, WEFT_FN(fail_at_13), ints4, 4, 10, 4, &weft_sum_i64, &got), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "8-byte outputs");
}

/* Failures inside a reduction and a map with 8-byte outputs (both take weft_output's fast
 * path, and a reduction without hooks its tight loop): each is told apart and named. */
static void check_output_rules(weft_pool *pool, const char *backend, int n_jobs) {
    weft_reducer sum = {sizeof(int64_t), sum_init, sum_fold, sum_combine, NULL, 0};
    int64_t total = 0, outs[20];
    /* 0: a map; 1: a reduction with the program's fold; 2: with weft_sum_i64 (folded inline) */
    for (int reduce = 0; reduce < 3; reduce++) {
        const weft_task_def *tasks[] = {WEFT_FN(output_twice), WEFT_FN(output_null), WEFT_FN(fail_quietly_at_6)};
        const char *says[] = {"weft_output called twice", "weft_output: data is NULL", "task returned 42"};
        int64_t index[] = {3, 3, 6};
        for (int k = 0; k < 3; k++) {
            int rc = reduce ? weft_reduce(pool, tasks[k], NULL, 0, 20, 8, reduce == 1 ? &sum : &weft_sum_i64, &total)
                            : weft_map(pool, tasks[k], NULL, 0, 20, outs, 8);
            CHECK_EQ(rc, WEFT_ETASK);
            CHECK_HAS(weft_last_error()->message, says[k]);
            CHECK(strstr(weft_last_error()->message, "item 5") == NULL);
            CHECK_EQ(weft_last_error()->task_index, index[k]);
        }
    }
    /* and a reduction whose items fail at random is whole once its retries recover them */
    weft_pool *retrying = open_pool(backend, n_jobs, 0, 0, 10);
    memset(attempts, 0, sizeof attempts);
    CHECK_EQ(weft_reduce(retrying, WEFT_FN(flaky), NULL, 0, 1000, 8, &sum, &total), 0);
    CHECK_EQ(total, 999 * 1000);
    memset(attempts, 0, sizeof attempts);
    CHECK_EQ(weft_reduce(retrying, WEFT_FN(flaky), NULL, 0, 1000, 8, &weft_sum_i64, &total), 0);
    CHECK_EQ(total, 999 * 1000);
    weft_pool_close(retrying);
}

/* weft_for writes into the caller's memory: backends without shared memory refuse it. */
static int store_index(size_t i, void *ctx) {
    ((int64_t *)ctx)[i] = (int64_t)i;
    return 0;
}

static void check_for_refused(weft_pool *pool) {
    int64_t slots[10];
    CHECK_EQ(weft_for(pool, 0, 10, store_index, slots), WEFT_ENOSYS);
    CHECK_HAS(weft_last_error()->message, "weft_for needs shared memory");
}

static void check_errors(const char *backend, int n_jobs) {
    weft_pool *pool = open_pool(backend, n_jobs, 0, 0, 0);
    int32_t ints[300];
    static int32_t outs[1000];
    for (int i = 0; i < 300; i++) ints[i] = i, outs[i] = -1;
    int in_process = (weft_backend_caps(backend) & WEFT_CAP_SHARED_MEMORY) != 0;
    size_t bad = 0;

    /* collect-all on arrays */
    weft_status st[300];
    CHECK_EQ(weft_map_collect(pool, WEFT_FN(fail_at_13), ints, 4, 300, outs, 4, st), WEFT_ETASK);
    CHECK_HAS(weft_last_error()->message, "1 of 300 tasks failed");
    CHECK_EQ(weft_last_error()->task_index, 13);
    for (int i = 0; i < 300; i++) {
        if (i == 13) continue;
        bad += st[i].code != 0 || st[i].message != NULL || outs[i] != i;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(st[13].code, WEFT_ETASK);
    CHECK(st[13].message && strcmp(st[13].message, "unlucky 13") == 0);
    weft_status_free(st, 300);
    CHECK_EQ(weft_map_collect(pool, WEFT_FN(fail_at_13), ints, 4, 10, outs, 4, st), 0);
    CHECK_EQ(weft_map_collect(pool, WEFT_FN(fail_at_13), ints, 4, 10, outs, 4, NULL), WEFT_EINVAL);
    weft_pool_close(pool);

    /* retries: random failures all recovered with enough retries, not without */
    int64_t o64[1000];
    pool = open_pool(backend, n_jobs, 0, 0, 10);
    memset(attempts, 0, sizeof attempts);
    CHECK_EQ(weft_map(pool, WEFT_FN(flaky), NULL, 0, 1000, o64, 8), 0);
    size_t retried = 0;
    for (int i = 0; i < 1000; i++) {
        bad += o64[i] != 2 * i;
        retried += atomic_load(&attempts[i]) > 1;
    }
    CHECK_EQ(bad, 0);
    /* the failures were real and were retried (counted where the tasks ran: here) */
    if (in_process) CHECK(retried > 100);
    weft_pool_close(pool);
    pool = open_pool(backend, n_jobs, 0, 0, 0);
    memset(attempts, 0, sizeof attempts);
    CHECK_EQ(weft_map(pool, WEFT_FN(flaky), NULL, 0, 1000, o64, 8), WEFT_ETASK);
    CHECK_HAS(weft_last_error()->message, "flaky failure");
    weft_pool_close(pool);

    /* a task timeout: the polling task sees its flag and the call says why */
    pool = open_pool(backend, n_jobs, 0.05, 0, 0);
    double t0 = now_s();
    CHECK_EQ(weft_map(pool, WEFT_FN(poll_forever), NULL, 0, 3, NULL, 0), WEFT_ETIMEDOUT);
    CHECK(now_s() - t0 < 2.0);
    CHECK_HAS(weft_last_error()->message, "timeout");
    CHECK(weft_last_error()->task_index >= 0 && weft_last_error()->task_index < 3);
    /* a task that does not poll is still reported once it returns */
    CHECK_EQ(weft_map(pool, WEFT_FN(busy_10ms), NULL, 0, 1, outs, 4), 0);
    weft_pool_close(pool);
    pool = open_pool(backend, n_jobs, 0.001, 0, 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(busy_10ms), NULL, 0, 2, outs, 4), WEFT_ETIMEDOUT);
    weft_pool_close(pool);

    /* a call timeout stops dispatch: 1000 tasks of 10 ms would take 10 s / n_jobs */
    pool = open_pool(backend, n_jobs, 0, 0.1, 0);
    t0 = now_s();
    CHECK_EQ(weft_map(pool, WEFT_FN(busy_10ms), NULL, 0, 1000, outs, 4), WEFT_ETIMEDOUT);
    CHECK(now_s() - t0 < 1.0);
    CHECK_HAS(weft_last_error()->message, "timeout of 0.1 s");
    CHECK_EQ(weft_last_error()->task_index, -1);
    /* and a polling task stuck forever ends with the call */
    CHECK_EQ(weft_map(pool, WEFT_FN(poll_forever), NULL, 0, 2, NULL, 0), WEFT_ETIMEDOUT);
    weft_pool_close(pool);

    /* cancellation mid-run from the progress callback */
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.progress = cancel_after_some;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    t0 = now_s();
    CHECK_EQ(weft_map(pool, WEFT_FN(busy_10ms), NULL, 0, 1000, outs, 4), WEFT_ECANCELED);
    CHECK(now_s() - t0 < 2.0);
    weft_pool_close(pool);
}

int main(void) {
    /* the reference for deterministic sums: sequential, one worker */
    double reference = 0;
    weft_pool *seq = open_pool("sequential", 1, 0, 0, 0);
    weft_reducer fsum = {sizeof(double), fsum_init, fsum_fold, fsum_combine, NULL, 1};
    CHECK_EQ(weft_reduce(seq, WEFT_FN(f64_value), NULL, 0, 100003, 8, &fsum, &reference), 0);
    weft_pool_close(seq);

    if (!TEST_HAVE_THREADS) SKIP("streaming on the threads backend: no threads on this host");
    for (size_t b = 0; weft_backend_name(b); b++) {
        const char *name = weft_backend_name(b);
        for (int w = 1; w <= 4; w++) {
            int before = check_failed;
            weft_pool *pool = open_pool(name, w, 0, 0, 0);
            check_iterators(pool);
            check_mixed_finish(pool);
            check_ordered_failure(pool, strcmp(name, "threads") == 0 ? 200 : 10);
            check_reduce(pool, reference);
            check_ready_made(pool, reference);
            check_output_rules(pool, name, w);
            if (!(weft_backend_caps(name) & WEFT_CAP_SHARED_MEMORY)) check_for_refused(pool);
            weft_pool_close(pool);
            check_errors(name, w);
            if (check_failed != before) fprintf(stderr, "  ^ backend %s, n_jobs %d\n", name, w);
        }
    }
    weft_shutdown();
    return CHECK_DONE();
}
