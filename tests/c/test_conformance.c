/* One suite, every backend: each registered backend at several widths must give the
 * sequential backend's results, errors and cancellations. */
#include "check.h"
#include "test_tasks.h"

#include <stdlib.h>

static int count_progress(const weft_progress *p, void *user) {
    (void)p;
    ++*(int *)user;
    return 0;
}

static int cancel_at_once(const weft_progress *p, void *user) {
    (void)user;
    return p->done < p->total; /* cancel, unless it is the final report */
}

static int times3(size_t i, void *ctx) {
    ((int64_t *)ctx)[i] = (int64_t)i * 3;
    return 0;
}

static int stop_at_500(size_t i, void *ctx) {
    (void)ctx;
    return i == 500 ? 7 : 0;
}

/* Ignores weft_output's refusal of a 3-byte output and returns 0. */
static int wrong_size_ignored(weft_task *t) {
    weft_output(t, "abc", 3);
    return 0;
}
WEFT_TASK(wrong_size_ignored)

/* A square that takes about a microsecond: 2 000 000 of them cannot all end on the other
 * threads before the caller's first batch reports its progress, however the machine's
 * load delays the caller (a plain square takes nanoseconds: a caller switched out for
 * 10 ms could find every item done, and the callback then sees the final report). */
static int slow_square(weft_task *t) {
    int64_t x = *(const int64_t *)weft_input(t);
    volatile int64_t y = x;
    for (int i = 0; i < 300; i++) y = y * 3 % 1000003;
    x = x * x + (y < 0);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(slow_square)

static void check_square(weft_pool *pool, size_t n) {
    int64_t *in = malloc((n + 1) * sizeof *in), *out = malloc((n + 1) * sizeof *out);
    for (size_t i = 0; i < n; i++) in[i] = (int64_t)i - 50, out[i] = -1;
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, sizeof *in, n, out, sizeof *out), 0);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += out[i] != in[i] * in[i];
    CHECK_EQ(bad, 0);
    free(in);
    free(out);
}

static void check_backend(const char *backend, int n_jobs, int batch_size) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    o.batch_size = batch_size;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    if (!pool) return;
    CHECK_STR(weft_pool_backend(pool), backend);
    CHECK_EQ(weft_pool_n_jobs(pool), n_jobs);

    size_t sizes[] = {0, 1, 2, 3, 17, 1000, 100003};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) check_square(pool, sizes[s]);

    /* reuse: many small maps on the same pool */
    for (int r = 0; r < 200; r++) check_square(pool, (size_t)(r % 7) + 1);

    /* floating point gives the same bits as a plain loop */
    double rs[64], xs[64];
    for (int i = 0; i < 64; i++) rs[i] = 2.5 + i * 0.02;
    CHECK_EQ(weft_map(pool, WEFT_FN(logistic), rs, sizeof rs[0], 64, xs, sizeof xs[0]), 0);
    for (int i = 0; i < 64; i++) {
        double x = 0.5;
        for (int k = 0; k < 1000; k++) x = rs[i] * x * (1.0 - x);
        CHECK(memcmp(&x, &xs[i], sizeof x) == 0);
    }

    /* variable-size outputs */
    const char *words[] = {"", "a", "weft", "parallel map"};
    weft_bytes in[4], out[4];
    for (int i = 0; i < 4; i++) in[i].data = (void *)words[i], in[i].size = strlen(words[i]);
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(repeat), in, 4, out), 0);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(out[i].size, 2 * strlen(words[i]));
        CHECK(out[i].data && memcmp(out[i].data, words[i], in[i].size) == 0);
        CHECK(out[i].data && memcmp((char *)out[i].data + in[i].size, words[i], in[i].size) == 0);
    }
    weft_bytes_free(out, 4);

    /* weft_for over an index range: only where tasks share the caller's memory; the
       others refuse it clearly instead of copying */
    int64_t arr[3000];
    if (weft_backend_caps(backend) & WEFT_CAP_SHARED_MEMORY) {
        CHECK_EQ(weft_for(pool, 0, 3000, times3, arr), 0);
        size_t bad = 0;
        for (int i = 0; i < 3000; i++) bad += arr[i] != (int64_t)i * 3;
        CHECK_EQ(bad, 0);
        CHECK_EQ(weft_for(pool, 10, 10, times3, arr), 0);
        CHECK_EQ(weft_for(pool, 0, 1000, stop_at_500, NULL), WEFT_ETASK);
        CHECK_EQ(weft_last_error()->task_index, 500);
        CHECK_HAS(weft_last_error()->message, "returned 7");
        /* a range that does not start at 0: the failing index is i, not i - begin */
        CHECK_EQ(weft_for(pool, 400, 1000, stop_at_500, NULL), WEFT_ETASK);
        CHECK_EQ(weft_last_error()->task_index, 500);
        CHECK_HAS(weft_last_error()->message, "at i = 500");
    } else {
        CHECK_EQ(weft_for(pool, 0, 3000, times3, arr), WEFT_ENOSYS);
        CHECK_HAS(weft_last_error()->message, "needs shared memory");
    }

    /* a failing task: its index and message reach the caller */
    int32_t ints[1000], outs[1000];
    for (int i = 0; i < 1000; i++) ints[i] = i;
    CHECK_EQ(weft_map(pool, WEFT_FN(fail_at_13), ints, 4, 1000, outs, 4), WEFT_ETASK);
    const weft_error *e = weft_last_error();
    CHECK_EQ(e->code, WEFT_ETASK);
    CHECK_EQ(e->task_index, 13);
    CHECK_EQ(e->task_status, WEFT_ETASK);
    CHECK_STR(e->message, "unlucky 13");
    CHECK_STR(e->task_name, "fail_at_13");
    /* the pool is still usable after a failure */
    check_square(pool, 100);
    CHECK_EQ(weft_last_error()->code, WEFT_OK);

    /* wrong output sizes are errors, never silent garbage */
    int64_t o8[10];
    CHECK_EQ(weft_map(pool, WEFT_FN(wrong_size), ints, 4, 10, o8, 8), WEFT_EOUTSIZE);
    CHECK_HAS(weft_last_error()->message, "3 bytes");
    CHECK_EQ(weft_map(pool, WEFT_FN(no_output), ints, 4, 10, o8, 8), WEFT_EOUTSIZE);
    CHECK_HAS(weft_last_error()->message, "without calling weft_output");
    /* the refused output is what the caller hears about, not a missing one */
    CHECK_EQ(weft_map(pool, WEFT_FN(wrong_size_ignored), ints, 4, 10, o8, 8), WEFT_EOUTSIZE);
    CHECK_HAS(weft_last_error()->message, "weft_output got 3 bytes, the map's output size is 8");
    CHECK_EQ(weft_map(pool, WEFT_FN(no_output), ints, 4, 10, NULL, 0), 0);

    /* cancellation: tasks running when another fails see the flag; the rest never start */
    int32_t seen[64];
    memset(seen, 0x7f, sizeof seen);
    CHECK_EQ(weft_map(pool, WEFT_FN(wait_cancel), ints, 4, 64, seen, 4), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 0);
    CHECK_STR(weft_last_error()->message, "first task fails");
    for (int i = 1; i < 64; i++) CHECK(seen[i] == 1 || seen[i] == 0x7f7f7f7f);

    /* cancellation from the progress callback */
    weft_pool *cancelling = NULL;
    o.progress = cancel_at_once;
    CHECK_EQ(weft_pool_open(&cancelling, &o), 0);
    static int64_t big_in[2000000], big_out[2000000];
    CHECK_EQ(weft_map(cancelling, WEFT_FN(slow_square), big_in, 8, 2000000, big_out, 8), WEFT_ECANCELED);
    CHECK_EQ(weft_last_error()->task_index, -1);
    CHECK_HAS(weft_last_error()->message, "progress callback");
    weft_pool_close(cancelling);

    /* progress callback: called, and last with done == total */
    int calls = 0;
    o.progress = count_progress;
    o.progress_user = &calls;
    weft_pool *counting = NULL;
    CHECK_EQ(weft_pool_open(&counting, &o), 0);
    CHECK_EQ(weft_map(counting, WEFT_FN(square), big_in, 8, 2000000, big_out, 8), 0);
    CHECK(calls >= 1);
    weft_pool_close(counting);

    /* nested maps on the same pool */
    int32_t ns[40];
    int64_t sums[40];
    for (int i = 0; i < 40; i++) ns[i] = i * 5;
    CHECK_EQ(weft_config_push(&o), 0); /* nested NULL-pool calls follow this scope's pool kind */
    CHECK_EQ(weft_map(pool, WEFT_FN(nested_sum), ns, 4, 40, sums, 8), 0);
    weft_config_pop();
    for (int i = 0; i < 40; i++) {
        int64_t want = 0;
        for (int k = 0; k < ns[i]; k++) want += (int64_t)k * k;
        CHECK_EQ(sums[i], want);
    }

    /* task context: worker ids within the pool's width, level 0 at the top */
    int32_t who[500][2];
    CHECK_EQ(weft_map(pool, WEFT_FN(whoami), NULL, 0, 500, who, sizeof who[0]), 0);
    for (int i = 0; i < 500; i++) {
        CHECK(who[i][0] >= 0 && who[i][0] < n_jobs);
        CHECK_EQ(who[i][1], 0);
    }

    /* bad input: clear errors, nothing run */
    CHECK_EQ(weft_map(pool, NULL, ints, 4, 10, outs, 4), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "task is NULL");
    CHECK_EQ(weft_map(pool, WEFT_FN(square), NULL, 8, 10, o8, 8), WEFT_EINVAL);
    CHECK_EQ(weft_map(pool, WEFT_FN(square), ints, 8, 10, NULL, 8), WEFT_EINVAL);
    CHECK_EQ(weft_map(pool, WEFT_FN(square), ints, 8, 1, o8, 0), WEFT_EINVAL);
    CHECK_EQ(weft_map(pool, WEFT_FN(square), ints, SIZE_MAX / 2, 4, o8, 8), WEFT_EINVAL);
    /* weft_imap_array checks its inputs the same way (n * in_size overflowing too) */
    weft_iter *it = (weft_iter *)&it;
    CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(square), ints, SIZE_MAX / 2, 4, NULL), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "overflows");
    CHECK(it == NULL);
    CHECK_EQ(weft_imap_array(&it, pool, WEFT_FN(square), NULL, 8, 4, NULL), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "inputs is NULL");
    CHECK_EQ(weft_for(pool, 5, 4, times3, arr), WEFT_EINVAL);
    CHECK_EQ(weft_for(pool, 0, 4, NULL, arr), WEFT_EINVAL);
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(repeat), NULL, 3, out), WEFT_EINVAL);
    in[1].data = NULL;
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(repeat), in, 4, out), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "inputs[1]");

    weft_pool_close(pool);
}

int main(void) {
    int widths[] = {1, 2, 3, 4};
    int batches[] = {0, 1, 7};
    const char *only = getenv("WEFT_CONFORMANCE_BACKEND"); /* to debug one backend */
    for (size_t b = 0; weft_backend_name(b); b++) {
        const char *name = weft_backend_name(b);
        if (only && *only && strcmp(only, name) != 0) continue;
        for (int w = 0; w < 4; w++)
            for (int k = 0; k < 3; k++) {
                int before = check_failed;
                check_backend(name, widths[w], batches[k]);
                if (check_failed != before)
                    fprintf(stderr, "  ^ backend %s, n_jobs %d, batch_size %d\n", name, widths[w], batches[k]);
            }
    }
    weft_shutdown();
    return CHECK_DONE();
}
