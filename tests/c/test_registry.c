/* The task registry (find, count, name order, bad and duplicate definitions) and the
 * backend registry (built-ins, a custom backend, bad and duplicate vtables). */
#include "check.h"
#include "test_tasks.h"

#include "backend.h"

#if TEST_HAVE_THREADS
#include <pthread.h>
#endif
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- tasks */

static int cube(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    int64_t y = x * x * x;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(cube)

static int impostor(weft_task *t) {
    int64_t y = -1;
    return weft_output(t, &y, sizeof y);
}

static const char *test_task_names[] = {"fail_at_13", "logistic", "mix64",  "nested_sum",
                                        "no_output",  "noop",     "repeat", "square",
                                        "wait_cancel", "whoami",  "wrong_size", "cube"};

static void check_order(void) {
    size_t n = weft_task_count();
    CHECK(n >= sizeof test_task_names / sizeof test_task_names[0]);
    for (size_t i = 0; i < n; i++) {
        const weft_task_def *t = weft_task_at(i);
        CHECK(t != NULL);
        if (!t) return;
        CHECK(t->name && t->name[0] && t->fn);
        CHECK(weft_task_find(t->name) == t);
        if (i > 0) CHECK(strcmp(weft_task_at(i - 1)->name, t->name) < 0);
    }
    CHECK(weft_task_at(n) == NULL);
    CHECK(weft_task_at(n + 1) == NULL);
    CHECK(weft_task_at(SIZE_MAX) == NULL);
}

static void check_tasks(void) {
    /* everything the constructors registered is there, by name (test_tasks.c may grow) */
    size_t n0 = weft_task_count();
    CHECK(n0 >= sizeof test_task_names / sizeof test_task_names[0]);
    for (size_t i = 0; i < sizeof test_task_names / sizeof test_task_names[0]; i++) {
        const weft_task_def *t = weft_task_find(test_task_names[i]);
        CHECK(t != NULL);
        if (t) CHECK_STR(t->name, test_task_names[i]);
    }
    CHECK(weft_task_find("square") == WEFT_FN(square));
    CHECK(weft_task_find("cube") == WEFT_FN(cube));
    CHECK(weft_task_find("cube")->fn == cube);
    CHECK(weft_task_find("no such task") == NULL);
    CHECK(weft_task_find("") == NULL);
    CHECK(weft_task_find(NULL) == NULL);
    CHECK(weft_task_find("squar") == NULL);   /* prefixes are not names */
    CHECK(weft_task_find("square ") == NULL);
    CHECK(weft_task_find("SQUARE") == NULL);  /* names are case-sensitive */
    check_order();

    /* bad definitions: rejected with a message, registry untouched */
    CHECK_EQ(weft_task_register(NULL), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "name");
    weft_task_def no_name = {NULL, cube};
    CHECK_EQ(weft_task_register(&no_name), WEFT_EINVAL);
    weft_task_def empty_name = {"", cube};
    CHECK_EQ(weft_task_register(&empty_name), WEFT_EINVAL);
    CHECK_EQ(weft_last_error()->code, WEFT_EINVAL);
    static weft_task_def no_fn = {"no_fn", NULL};
    CHECK_EQ(weft_task_register(&no_fn), WEFT_EINVAL);
    CHECK(weft_task_find("no_fn") == NULL);
    CHECK_EQ(weft_task_count(), n0);

    /* a second task under a taken name: rejected, and the first one still runs */
    static weft_task_def dup = {"square", impostor};
    CHECK_EQ(weft_task_register(&dup), WEFT_EINVAL);
    CHECK_EQ(weft_last_error()->code, WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "'square'");
    CHECK_HAS(weft_last_error()->message, "already registered");
    CHECK(weft_task_find("square") == WEFT_FN(square));
    CHECK_EQ(weft_task_count(), n0);
    static weft_task_def dup_first = {NULL, impostor}, dup_last = {NULL, impostor};
    dup_first.name = weft_task_at(0)->name; /* at the head of the list */
    CHECK_EQ(weft_task_register(&dup_first), WEFT_EINVAL);
    dup_last.name = weft_task_at(n0 - 1)->name; /* at the tail */
    CHECK_EQ(weft_task_register(&dup_last), WEFT_EINVAL);
    CHECK_EQ(weft_task_count(), n0);
    check_order();
    int64_t in[3] = {1, 2, 3}, out[3];
    CHECK_EQ(weft_map(NULL, weft_task_find("square"), in, 8, 3, out, 8), 0);
    CHECK(out[0] == 1 && out[1] == 4 && out[2] == 9);

    /* the same definition again is harmless, wherever it sits */
    CHECK_EQ(weft_task_register(WEFT_FN(square)), 0);
    CHECK_EQ(weft_task_register(WEFT_FN(cube)), 0);
    CHECK_EQ(weft_task_register(weft_task_at(0)), 0);
    CHECK_EQ(weft_task_register(weft_task_at(n0 - 1)), 0);
    CHECK_EQ(weft_task_count(), n0);
    check_order();

    /* registering at run time: first, middle and last places in name order */
    static weft_task_def first = {"aaa_first", cube}, middle = {"n_middle", cube},
                         last = {"zzz_last", cube};
    CHECK_EQ(weft_task_register(&middle), 0);
    CHECK_EQ(weft_task_register(&last), 0);
    CHECK_EQ(weft_task_register(&first), 0);
    CHECK_EQ(weft_task_count(), n0 + 3);
    CHECK(weft_task_at(0) == &first);
    CHECK(weft_task_at(n0 + 2) == &last);
    CHECK(weft_task_find("n_middle") == &middle);
    check_order();
    CHECK_EQ(weft_task_register(&middle), 0);
    CHECK_EQ(weft_task_count(), n0 + 3);
    CHECK_EQ(weft_map(NULL, weft_task_find("zzz_last"), in, 8, 3, out, 8), 0);
    CHECK(out[0] == 1 && out[1] == 8 && out[2] == 27);
}

/* ---------------------------------------------------------------- backends */

/* A tiny custom backend: runs every item on the calling thread in chunks of 10 and
 * counts what it was asked to do. */
typedef struct counting_state {
    int magic, workers;
    long runs, chunks;
} counting_state;

static atomic_int starts, stops, runs, chunks;

static int counting_start(void *state, int n_workers) {
    counting_state *s = state;
    /* weft hands over zeroed private state */
    if (s->magic != 0 || s->runs != 0) return WEFT_EINVAL;
    s->magic = 0x5eed;
    s->workers = n_workers;
    atomic_fetch_add(&starts, 1);
    return 0;
}

static int counting_run(void *state, weft__job *job) {
    counting_state *s = state;
    if (s->magic != 0x5eed) return WEFT_EINVAL;
    s->runs++;
    atomic_fetch_add(&runs, 1);
    size_t n = weft__job_size(job);
    for (size_t i = 0; i < n && !weft__job_stopping(job); i += 10) {
        size_t end = n - i < 10 ? n : i + 10;
        CHECK_EQ(weft__job_run(job, i, end, 0), end - i);
        s->chunks++;
        atomic_fetch_add(&chunks, 1);
        weft__job_progress(job, end);
    }
    return 0;
}

static void counting_stop(void *state) {
    counting_state *s = state;
    s->magic = 0;
    atomic_fetch_add(&stops, 1);
}

static const weft_backend counting = {
    .version = WEFT_BACKEND_VERSION,
    .name = "counting",
    .caps = WEFT_CAP_SHARED_MEMORY,
    .state_size = sizeof(counting_state),
    .start = counting_start,
    .run = counting_run,
    .stop = counting_stop,
};

static int failing_run(void *state, weft__job *job) {
    (void)state, (void)job;
    return WEFT_ESYS;
}
static int failing_start(void *state, int n_workers) {
    (void)state, (void)n_workers;
    return WEFT_ESYS;
}

static int set_flag(size_t i, void *ctx) {
    ((unsigned char *)ctx)[i] = 1;
    return 0;
}

static void check_builtin_backends(void) {
    size_t n = weft_backend_count();
    CHECK(n >= (TEST_HAVE_THREADS ? 2u : 1u));
    CHECK_STR(weft_backend_name(0), "sequential");
#if TEST_HAVE_THREADS
    CHECK_STR(weft_backend_name(1), "threads");
#else
    /* a host without threads does not offer the backend at all */
    CHECK(weft_backend_find("threads") == NULL);
    CHECK_EQ(weft_backend_caps("threads"), 0u);
#endif
    CHECK(weft_backend_name(n) == NULL);
    CHECK(weft_backend_name(SIZE_MAX) == NULL);
    for (size_t i = 0; i < n; i++) {
        CHECK(weft_backend_name(i) != NULL);
        CHECK(weft_backend_find(weft_backend_name(i)) != NULL);
        for (size_t k = 0; k < i; k++) CHECK(strcmp(weft_backend_name(k), weft_backend_name(i)) != 0);
    }
    CHECK_EQ(weft_backend_caps("sequential"), (unsigned)(WEFT_CAP_SHARED_MEMORY | WEFT_CAP_NESTED));
#if TEST_HAVE_THREADS
    CHECK_EQ(weft_backend_caps("threads"),
             (unsigned)(WEFT_CAP_SHARED_MEMORY | WEFT_CAP_PARALLEL | WEFT_CAP_NESTED));
    CHECK(weft_backend_find("threads") == &weft__backend_threads);
#endif
    CHECK(!(weft_backend_caps("sequential") & WEFT_CAP_PARALLEL));
    CHECK_EQ(weft_backend_caps("nope"), 0u);
    CHECK_EQ(weft_backend_caps(""), 0u);
    CHECK_EQ(weft_backend_caps(NULL), 0u);
    CHECK(weft_backend_find("nope") == NULL);
    CHECK(weft_backend_find(NULL) == NULL);
    CHECK(weft_backend_find("sequential") == &weft__backend_sequential);
}

static void check_custom_backend(void) {
    size_t n0 = weft_backend_count();

    /* bad vtables are rejected, and leave the registry as it was */
    CHECK_EQ(weft_backend_register(NULL), WEFT_EINVAL);
    weft_backend bad = counting;
    bad.name = NULL;
    CHECK_EQ(weft_backend_register(&bad), WEFT_EINVAL);
    bad.name = "";
    CHECK_EQ(weft_backend_register(&bad), WEFT_EINVAL);
    bad = counting;
    bad.name = "no_run";
    bad.run = NULL;
    CHECK_EQ(weft_backend_register(&bad), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "run");

    static weft_backend too_new;
    too_new = counting;
    too_new.name = "from_the_future";
    too_new.version = WEFT_BACKEND_VERSION + 1;
    CHECK_EQ(weft_backend_register(&too_new), WEFT_EINVAL);
    CHECK_EQ(weft_last_error()->code, WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "from_the_future");
    CHECK_HAS(weft_last_error()->message, "version");
    too_new.version = 0;
    CHECK_EQ(weft_backend_register(&too_new), WEFT_EINVAL);
    CHECK(weft_backend_find("from_the_future") == NULL);

    static weft_backend dup;
    dup = counting;
    dup.name = "sequential";
    CHECK_EQ(weft_backend_register(&dup), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "'sequential'");
    CHECK_HAS(weft_last_error()->message, "already registered");
    CHECK(weft_backend_find("sequential") == &weft__backend_sequential);
    CHECK_EQ(weft_backend_count(), n0);

    /* a good one (which also clears the failure just reported) */
    CHECK_EQ(weft_backend_register(&counting), 0);
    CHECK_EQ(weft_last_error()->code, WEFT_OK);
    CHECK_STR(weft_last_error()->message, "");
    CHECK_EQ(weft_backend_count(), n0 + 1);
    CHECK_STR(weft_backend_name(n0), "counting");
    CHECK(weft_backend_find("counting") == &counting);
    CHECK_EQ(weft_backend_caps("counting"), (unsigned)WEFT_CAP_SHARED_MEMORY);
    /* twice under the same name: rejected, even for the same vtable */
    CHECK_EQ(weft_backend_register(&counting), WEFT_EINVAL);
    CHECK_EQ(weft_backend_count(), n0 + 1);

    /* it runs maps, for-loops and byte maps through weft__job_run */
    weft_options o;
    weft_options_init(&o);
    o.backend = "counting";
    o.n_jobs = 3;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    if (!pool) return;
    CHECK_EQ(atomic_load(&starts), 1);
    CHECK_STR(weft_pool_backend(pool), "counting");
    CHECK_EQ(weft_pool_n_jobs(pool), 3);
    int64_t in[95], out[95];
    for (int i = 0; i < 95; i++) in[i] = i - 40, out[i] = 0;
    CHECK_EQ(weft_map(pool, WEFT_FN(cube), in, 8, 95, out, 8), 0);
    size_t bad_items = 0;
    for (int i = 0; i < 95; i++) bad_items += out[i] != in[i] * in[i] * in[i];
    CHECK_EQ(bad_items, 0);
    CHECK_EQ(atomic_load(&runs), 1);
    CHECK_EQ(atomic_load(&chunks), 10); /* 95 items in chunks of 10 */

    unsigned char flags[37] = {0};
    CHECK_EQ(weft_for(pool, 0, 37, set_flag, flags), 0);
    for (int i = 0; i < 37; i++) CHECK_EQ(flags[i], 1);
    CHECK_EQ(atomic_load(&runs), 2);
    CHECK_EQ(atomic_load(&chunks), 14);
    weft_bytes bin[3] = {{"x", 1}, {"", 0}, {"abc", 3}}, bout[3];
    CHECK_EQ(weft_map_bytes(pool, WEFT_FN(repeat), bin, 3, bout), 0);
    CHECK(bout[2].size == 6 && memcmp(bout[2].data, "abcabc", 6) == 0);
    CHECK_EQ(bout[1].size, 0);
    weft_bytes_free(bout, 3);
    CHECK_EQ(atomic_load(&runs), 3);

    /* failures travel through a custom backend as well */
    int32_t ints[50], outs[50];
    for (int i = 0; i < 50; i++) ints[i] = i;
    CHECK_EQ(weft_map(pool, WEFT_FN(fail_at_13), ints, 4, 50, outs, 4), WEFT_ETASK);
    CHECK_EQ(weft_last_error()->task_index, 13);
    CHECK_STR(weft_last_error()->message, "unlucky 13");

    /* the worker id it passes reaches the task */
    int32_t who[12][2];
    CHECK_EQ(weft_map(pool, WEFT_FN(whoami), NULL, 0, 12, who, sizeof who[0]), 0);
    for (int i = 0; i < 12; i++) CHECK(who[i][0] == 0 && who[i][1] == 0);
    weft_pool_close(pool);
    CHECK_EQ(atomic_load(&stops), 1);

    /* NULL-pool calls reach it through a scope, and it counts its runs there */
    weft_options scope;
    weft_options_init(&scope);
    scope.backend = "counting";
    scope.n_jobs = 2;
    CHECK_EQ(weft_config_push(&scope), 0);
    int before = atomic_load(&starts);
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 25, out, 8), 0);
    CHECK_EQ(out[24], in[24] * in[24]);
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 25, out, 8), 0);
    CHECK_EQ(atomic_load(&starts), before + 1); /* one default pool, reused */
    CHECK_EQ(weft_config_pop(), 0);

    /* a backend whose run fails: the error reaches the caller, named */
    static weft_backend broken;
    broken = counting;
    broken.name = "broken";
    broken.start = NULL;
    broken.stop = NULL;
    broken.state_size = 0;
    broken.run = failing_run;
    CHECK_EQ(weft_backend_register(&broken), 0);
    weft_options_init(&o);
    o.backend = "broken";
    o.n_jobs = 1;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(square), in, 8, 5, out, 8), WEFT_ESYS);
    CHECK_HAS(weft_last_error()->message, "broken");
    weft_pool_close(pool);

    /* a backend that cannot start: weft_pool_open fails and returns no pool */
    static weft_backend unstartable;
    unstartable = counting;
    unstartable.name = "unstartable";
    unstartable.start = failing_start;
    unstartable.stop = NULL;
    CHECK_EQ(weft_backend_register(&unstartable), 0);
    o.backend = "unstartable";
    pool = (weft_pool *)1;
    CHECK_EQ(weft_pool_open(&pool, &o), WEFT_ESYS);
    CHECK(pool == NULL);
    CHECK_HAS(weft_last_error()->message, "unstartable");

    /* the registry has a limit, and says so */
    static weft_backend many[20];
    static char names[20][16];
    int added = 0, rc = 0;
    for (int i = 0; i < 20 && rc == 0; i++) {
        many[i] = counting;
        snprintf(names[i], sizeof names[i], "extra%d", i);
        many[i].name = names[i];
        rc = weft_backend_register(&many[i]);
        if (rc == 0) added++;
    }
    CHECK_EQ(rc, WEFT_ENOMEM);
    CHECK(added >= 1);
    CHECK_EQ(weft_backend_count(), n0 + 3 + (size_t)added);
    CHECK_STR(weft_backend_name(weft_backend_count() - 1), names[added - 1]);
}

#if TEST_HAVE_THREADS
/* Backends registered by one thread while another lists and finds them: every answer
 * is consistent (TSan checks the registry's locking). */
static atomic_int registering, listing;
static void *lister(void *p) {
    long *bad = p;
    for (long round = 0; atomic_load(&registering) || round < 2000; round++) {
        atomic_store(&listing, 1);
        size_t n = weft_backend_count();
        for (size_t i = 0; i < n; i++) {
            const char *name = weft_backend_name(i);
            if (!name || weft_backend_find(name) == NULL || weft_backend_caps(name) == 0) ++*bad;
        }
        if (weft_backend_find("threads") != &weft__backend_threads) ++*bad;
    }
    return NULL;
}

static void check_concurrent_registry(void) {
    static weft_backend extra[4];
    static char names[4][16];
    long bad = 0;
    atomic_store(&registering, 1);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, lister, &bad), 0);
    size_t n0 = weft_backend_count();
    while (!atomic_load(&listing)) {
    }
    for (int i = 0; i < 4; i++) {
        extra[i] = counting;
        snprintf(names[i], sizeof names[i], "concurrent%d", i);
        extra[i].name = names[i];
        CHECK_EQ(weft_backend_register(&extra[i]), 0);
    }
    atomic_store(&registering, 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    CHECK_EQ(bad, 0);
    CHECK_EQ(weft_backend_count(), n0 + 4);
}
#else
static void check_concurrent_registry(void) {
    SKIP("registering backends while another thread lists them: no threads on this host");
}
#endif

int main(void) {
    check_tasks();
    check_builtin_backends();
    check_concurrent_registry();
    check_custom_backend();
    weft_shutdown();
    CHECK_EQ(atomic_load(&stops), 2); /* the default "counting" pool was closed too */
    return CHECK_DONE();
}
