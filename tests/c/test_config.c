/* Options, n_jobs, pools, scoped configuration and the environment variables. */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "test_tasks.h"

#if TEST_HAVE_THREADS
#include <pthread.h>
#endif

/* The parallel backend, and the default one: threads, or on a host without threads the
 * sequential backend, with which every check below about scopes and precedence holds. */
#if TEST_HAVE_THREADS
#define PAR "threads"
#define BACKENDS "sequential, threads"
#else
#define PAR "sequential"
#define BACKENDS "sequential"
#endif
#include <stdint.h>
#include <stdlib.h>

static void clear_env(void) {
    unsetenv("WEFT_BACKEND");
    unsetenv("WEFT_N_JOBS");
    unsetenv("WEFT_VERBOSE");
}

static weft_options opts(const char *backend, int n_jobs) {
    weft_options o;
    weft_options_init(&o);
    o.backend = backend;
    o.n_jobs = n_jobs;
    return o;
}

/* The current options, or a record with backend "<error>" when resolving fails. */
static weft_options current(void) {
    weft_options o;
    if (weft_config_current(&o) != 0) o.backend = "<error>";
    return o;
}

/* Which workers ran a NULL-pool map of n whoami tasks: a bit per worker id. */
static unsigned who_ran(size_t n, int *max_level) {
    int32_t(*who)[2] = calloc(n, sizeof *who);
    unsigned seen = 0;
    *max_level = -1;
    if (weft_map(NULL, WEFT_FN(whoami), NULL, 0, n, who, sizeof *who) != 0) {
        free(who);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        seen |= who[i][0] >= 0 && who[i][0] < 32 ? 1u << who[i][0] : 1u << 31;
        if (who[i][1] > *max_level) *max_level = who[i][1];
    }
    free(who);
    return seen;
}

/* ---------------------------------------------------------------- basics */

static void check_options_init(void) {
    weft_options o;
    memset(&o, 0xab, sizeof o);
    weft_options_init(&o);
    weft_options zero = {0};
    CHECK(memcmp(&o, &zero, sizeof o) == 0);

    /* fields left 0 inherit: a designated initialiser is a complete set of options */
    weft_options lit = {.backend = "sequential", .n_jobs = 3};
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &lit), 0);
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), 3);
    weft_pool_close(pool);

    /* a scope's values reach fields left 0, and WEFT_NONE overrides them */
    weft_options scope = {.batch_size = 16, .verbose = 2, .retries = 3, .timeout_s = 5,
                          .retry_backoff_s = 0.5, .shared_threshold = 4096};
    CHECK_EQ(weft_config_push(&scope), 0);
    weft_options now;
    CHECK_EQ(weft_config_current(&now), 0);
    CHECK_EQ(now.batch_size, 16);
    CHECK_EQ(now.verbose, 2);
    CHECK_EQ(now.retries, 3);
    CHECK(now.timeout_s == 5 && now.retry_backoff_s == 0.5);
    CHECK_EQ(now.shared_threshold, 4096);
    weft_options none = {.batch_size = WEFT_NONE, .verbose = WEFT_NONE, .retries = WEFT_NONE,
                         .timeout_s = WEFT_NONE, .retry_backoff_s = WEFT_NONE,
                         .shared_threshold = WEFT_NONE};
    CHECK_EQ(weft_config_push(&none), 0);
    CHECK_EQ(weft_config_current(&now), 0);
    CHECK_EQ(now.batch_size, 0);
    CHECK_EQ(now.verbose, 0);
    CHECK_EQ(now.retries, 0);
    CHECK(now.timeout_s == 0 && now.retry_backoff_s == 0);
    CHECK_EQ(now.shared_threshold, 0);
    weft_config_pop();
    weft_config_pop();
    /* with no scope: the defaults */
    CHECK_EQ(weft_config_current(&now), 0);
    CHECK_EQ(now.retries, 0);
    CHECK(now.retry_backoff_s == 0.01);
    CHECK_EQ(now.shared_threshold, 1 << 20);
}

static void check_n_jobs(void) {
    int cpus = weft_cpu_count();
    CHECK(cpus >= 1);
    CHECK_EQ(weft_resolve_n_jobs(-1), cpus);
    CHECK_EQ(weft_resolve_n_jobs(-2), cpus > 1 ? cpus - 1 : 1);
    CHECK_EQ(weft_resolve_n_jobs(-cpus), 1);
    CHECK_EQ(weft_resolve_n_jobs(-cpus - 1), 1);
    CHECK_EQ(weft_resolve_n_jobs(-1000), 1);
    CHECK_EQ(weft_resolve_n_jobs(-0x7ffffffe), 1);
    CHECK_EQ(weft_resolve_n_jobs(1), 1);
    CHECK_EQ(weft_resolve_n_jobs(7), 7);
    CHECK_EQ(weft_resolve_n_jobs(1000), 1000);
    CHECK_EQ(weft_resolve_n_jobs(0), WEFT_EINVAL);
    CHECK_EQ(weft_last_error()->code, WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "n_jobs = 0");
    CHECK_HAS(weft_last_error()->message, "-1");
}

static void check_open(void) {
    weft_pool *pool = (weft_pool *)1;
    /* n_jobs 0 inherits: all CPUs unless a scope or WEFT_N_JOBS says otherwise */
    weft_options o = opts("sequential", 0);
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_EQ(weft_pool_n_jobs(pool), getenv("WEFT_N_JOBS") ? weft_pool_n_jobs(pool) : weft_cpu_count());
    weft_pool_close(pool);
    CHECK_EQ(weft_pool_open(NULL, NULL), WEFT_EINVAL);

    o = opts("nope", 2);
    CHECK_EQ(weft_pool_open(&pool, &o), WEFT_ENOBACKEND);
    CHECK(pool == NULL);
    CHECK_HAS(weft_last_error()->message, "'nope'");
    CHECK_HAS(weft_last_error()->message, "sequential");
    CHECK_HAS(weft_last_error()->message, PAR);
    o = opts(PAR, 2);
    o.batch_size = -2;
    CHECK_EQ(weft_pool_open(&pool, &o), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "batch_size");
    o = opts(PAR, 2);
    o.verbose = -2;
    CHECK_EQ(weft_pool_open(&pool, &o), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "verbose");

#if !TEST_HAVE_THREADS
    /* the threads backend is not offered here, and the error says what is */
    o = opts("threads", 2);
    CHECK_EQ(weft_pool_open(&pool, &o), WEFT_ENOBACKEND);
    CHECK(pool == NULL);
    CHECK_HAS(weft_last_error()->message, "'threads'");
    CHECK_HAS(weft_last_error()->message, "sequential");
#endif

    /* NULL options: the defaults */
    CHECK_EQ(weft_pool_open(&pool, NULL), 0);
    CHECK_STR(weft_pool_backend(pool), PAR);
    CHECK_EQ(weft_pool_n_jobs(pool), weft_cpu_count());
    weft_pool_close(pool);
    o = opts("sequential", -2);
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), weft_resolve_n_jobs(-2));
    weft_pool_close(pool);

    CHECK(weft_pool_backend(NULL) == NULL);
    CHECK_EQ(weft_pool_n_jobs(NULL), 0);
    weft_pool_close(NULL);
}

/* ---------------------------------------------------------------- scopes */

static void check_defaults(const weft_options *o) {
    CHECK_STR(o->backend, PAR);
    CHECK_EQ(o->n_jobs, -1);
    CHECK_EQ(o->batch_size, 0);
    CHECK_EQ(o->verbose, 0);
    CHECK(o->progress == NULL);
}

static int dummy_progress(const weft_progress *p, void *user) {
    (void)p;
    ++*(int *)user;
    return 0;
}

static void check_nesting(void) {
    weft_options o = current();
    check_defaults(&o);

    weft_options a = opts("sequential", 0);
    weft_options b = opts(NULL, 3);
    b.verbose = 2;
    weft_options c = opts(PAR, 0);
    c.batch_size = 16;
    CHECK_EQ(weft_config_push(&a), 0);
    o = current();
    CHECK_STR(o.backend, "sequential");
    CHECK_EQ(o.n_jobs, -1);
    CHECK_EQ(weft_config_push(&b), 0);
    o = current();
    CHECK_STR(o.backend, "sequential");
    CHECK_EQ(o.n_jobs, 3);
    CHECK_EQ(o.verbose, 2);
    CHECK_EQ(weft_config_push(&c), 0);
    o = current();
    CHECK_STR(o.backend, PAR);
    CHECK_EQ(o.n_jobs, 3);
    CHECK_EQ(o.verbose, 2);
    CHECK_EQ(o.batch_size, 16);
    CHECK_EQ(weft_config_pop(), 0);
    o = current();
    CHECK_STR(o.backend, "sequential");
    CHECK_EQ(o.n_jobs, 3);
    CHECK_EQ(o.batch_size, 0);
    CHECK_EQ(weft_config_pop(), 0);
    o = current();
    CHECK_STR(o.backend, "sequential");
    CHECK_EQ(o.n_jobs, -1);
    CHECK_EQ(o.verbose, 0);
    CHECK_EQ(weft_config_pop(), 0);
    o = current();
    check_defaults(&o);

    /* pop without push */
    CHECK_EQ(weft_config_pop(), WEFT_ECONFIG);
    CHECK_EQ(weft_last_error()->code, WEFT_ECONFIG);
    CHECK_HAS(weft_last_error()->message, "pop");
    CHECK_EQ(weft_config_pop(), WEFT_ECONFIG);
    CHECK_EQ(weft_config_push(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_config_current(NULL), WEFT_EINVAL);

    /* a scope is checked when it is used: a bad one fails the calls under it, by name */
    weft_options bad = opts("nope", 0);
    CHECK_EQ(weft_config_push(&bad), 0);
    CHECK_EQ(weft_config_current(&o), WEFT_ENOBACKEND);
    CHECK_HAS(weft_last_error()->message, "'nope'");
    CHECK_HAS(weft_last_error()->message, BACKENDS);
    int64_t one = 3, sq = 0;
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), &one, 8, 1, &sq, 8), WEFT_ENOBACKEND);
    CHECK_EQ(weft_config_pop(), 0);
    bad = opts(PAR, 1);
    bad.retries = -5;
    CHECK_EQ(weft_config_push(&bad), 0);
    CHECK_EQ(weft_config_current(&o), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "retries = -5");
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), &one, 8, 1, &sq, 8), WEFT_EINVAL);
    CHECK_EQ(weft_config_pop(), 0);
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), &one, 8, 1, &sq, 8), 0);
    CHECK_EQ(sq, 9);

    /* the scope's copy is taken at push time */
    weft_options changing = opts("sequential", 2);
    CHECK_EQ(weft_config_push(&changing), 0);
    changing.n_jobs = 5;
    CHECK_EQ(current().n_jobs, 2);
    /* a progress callback is inherited with its user pointer */
    int calls = 0;
    weft_options prog;
    weft_options_init(&prog);
    prog.progress = dummy_progress;
    prog.progress_user = &calls;
    CHECK_EQ(weft_config_push(&prog), 0);
    weft_options inner = opts(PAR, 0);
    CHECK_EQ(weft_config_push(&inner), 0);
    o = current();
    CHECK(o.progress == dummy_progress && o.progress_user == &calls);
    CHECK_EQ(o.n_jobs, 2);
    /* and a NULL-pool call uses it */
    int64_t in[100], out[100];
    for (int i = 0; i < 100; i++) in[i] = i;
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 100, out, 8), 0);
    CHECK(calls >= 1);
    CHECK_EQ(out[99], 99 * 99);
    CHECK_EQ(weft_config_pop(), 0);
    CHECK_EQ(weft_config_pop(), 0);
    CHECK_EQ(weft_config_pop(), 0);
    o = current();
    check_defaults(&o);

    /* deep nesting has a limit, reported as misuse, and unwinds cleanly */
    weft_options s = opts("sequential", 1);
    int pushed = 0, rc = 0;
    while (pushed < 1000 && (rc = weft_config_push(&s)) == 0) pushed++;
    CHECK(pushed >= 16);
    CHECK_EQ(rc, WEFT_ECONFIG);
    for (int i = 0; i < pushed; i++) CHECK_EQ(weft_config_pop(), 0);
    CHECK_EQ(weft_config_pop(), WEFT_ECONFIG);
}

#if TEST_HAVE_THREADS
typedef struct seen {
    weft_options start;
    int pop_rc, push_rc, pop_again_rc;
    weft_options pushed;
    unsigned workers;
    int max_level;
} seen;

static void *scope_thread(void *p) {
    seen *s = p;
    s->start = current();
    s->pop_rc = weft_config_pop();
    weft_options mine = opts(PAR, 2);
    s->push_rc = weft_config_push(&mine);
    s->pushed = current();
    s->workers = who_ran(2000, &s->max_level);
    s->pop_again_rc = weft_config_pop();
    return NULL;
}

static void check_thread_local(void) {
    weft_options seq = opts("sequential", 1);
    CHECK_EQ(weft_config_push(&seq), 0);
    seen s;
    memset(&s, 0, sizeof s);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, scope_thread, &s), 0);
    CHECK_EQ(pthread_join(th, NULL), 0);
    /* the other thread saw none of this thread's scope */
    check_defaults(&s.start);
    CHECK_EQ(s.pop_rc, WEFT_ECONFIG);
    CHECK_EQ(s.push_rc, 0);
    CHECK_STR(s.pushed.backend, PAR);
    CHECK_EQ(s.pushed.n_jobs, 2);
    CHECK(s.workers != 0 && (s.workers & ~3u) == 0); /* its scope: 2 workers */
    CHECK_EQ(s.pop_again_rc, 0);
    /* and its push and pop left this thread's scope alone */
    weft_options o = current();
    CHECK_STR(o.backend, "sequential");
    CHECK_EQ(o.n_jobs, 1);
    CHECK_EQ(weft_config_pop(), 0);
    o = current();
    check_defaults(&o);
}
#else
static void check_thread_local(void) {
    SKIP("scopes are per thread: no threads on this host");
}
#endif

static void check_explicit_wins(void) {
    weft_options scope = opts("sequential", 1);
    scope.batch_size = 5;
    CHECK_EQ(weft_config_push(&scope), 0);
    weft_pool *pool = NULL;
    weft_options o = opts(PAR, 3);
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_STR(weft_pool_backend(pool), PAR);
    CHECK_EQ(weft_pool_n_jobs(pool), 3);
    weft_pool_close(pool);
    /* unset fields come from the scope */
    o = opts(NULL, 2);
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), 2);
    weft_pool_close(pool);
    o = opts(PAR, 0);
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    CHECK_STR(weft_pool_backend(pool), PAR);
    CHECK_EQ(weft_pool_n_jobs(pool), 1);
    weft_pool_close(pool);
    CHECK_EQ(weft_pool_open(&pool, NULL), 0);
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), 1);
    CHECK_EQ(weft_config_pop(), 0);
    /* a pool keeps what it was opened with after the scope is gone */
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), 1);
    int32_t who[50][2];
    CHECK_EQ(weft_map(pool, WEFT_FN(whoami), NULL, 0, 50, who, sizeof who[0]), 0);
    for (int i = 0; i < 50; i++) CHECK_EQ(who[i][0], 0);
    weft_pool_close(pool);
}

static void check_null_pool_follows_scope(void) {
    int level;
    weft_options seq = opts("sequential", 4);
    CHECK_EQ(weft_config_push(&seq), 0);
    CHECK_EQ(who_ran(5000, &level), 1u); /* only worker 0 */
    CHECK_EQ(level, 0);
    weft_options two = opts(PAR, 2);
    CHECK_EQ(weft_config_push(&two), 0);
    unsigned w = who_ran(20000, &level);
    CHECK(w != 0 && (w & ~3u) == 0);
    weft_options one = opts(NULL, 1);
    CHECK_EQ(weft_config_push(&one), 0); /* threads, 1 worker: the caller alone */
    CHECK_EQ(who_ran(5000, &level), 1u);
    CHECK_EQ(weft_config_pop(), 0);
    CHECK_EQ(weft_config_pop(), 0);
    CHECK_EQ(who_ran(5000, &level), 1u); /* back to the sequential scope */
    CHECK_EQ(weft_config_pop(), 0);
    /* no scope: the default pool, every CPU */
    w = who_ran(20000, &level);
    CHECK(w != 0 && w < (1u << weft_cpu_count()));
    weft_shutdown();
}

/* ---------------------------------------------------------------- environment */

static void check_env_errors(void) {
    int64_t in[4] = {1, 2, 3, 4}, out[4];
    weft_options o;
    weft_pool *pool = NULL;

    setenv("WEFT_BACKEND", "nope", 1);
    CHECK_EQ(weft_config_current(&o), WEFT_ENV);
    CHECK_EQ(weft_last_error()->code, WEFT_ENV);
    const char *msg = weft_last_error()->message;
    CHECK_HAS(msg, "WEFT_BACKEND");
    CHECK_HAS(msg, "nope");
    CHECK_HAS(msg, "accepted values");
    CHECK_HAS(msg, "sequential");
    CHECK_HAS(msg, PAR);
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 4, out, 8), WEFT_ENV);
    CHECK_HAS(weft_last_error()->message, "WEFT_BACKEND");
    CHECK_EQ(weft_pool_open(&pool, NULL), WEFT_ENV);
    CHECK(pool == NULL);
    setenv("WEFT_BACKEND", "Threads", 1); /* names are exact */
    CHECK_EQ(weft_config_current(&o), WEFT_ENV);
    unsetenv("WEFT_BACKEND");

    const char *bad_jobs[] = {"abc", "0", "3x", "1.5", "-", "99999999999999999999", "+0", " ", "\t ", "- 2"};
    for (size_t i = 0; i < sizeof bad_jobs / sizeof bad_jobs[0]; i++) {
        setenv("WEFT_N_JOBS", bad_jobs[i], 1);
        CHECK_EQ(weft_config_current(&o), WEFT_ENV);
        CHECK_HAS(weft_last_error()->message, "WEFT_N_JOBS");
        CHECK_HAS(weft_last_error()->message, bad_jobs[i]);
    }
    setenv("WEFT_N_JOBS", "abc", 1);
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 4, out, 8), WEFT_ENV);
    CHECK_HAS(weft_last_error()->message, "WEFT_N_JOBS='abc'");
    CHECK_EQ(weft_pool_open(&pool, NULL), WEFT_ENV);
    unsetenv("WEFT_N_JOBS");

    const char *bad_verbose[] = {"-3", "loud", "1e3", "-1", " ", "  \t", "0x1"}; /* blanks alone: issue 12 */
    for (size_t i = 0; i < sizeof bad_verbose / sizeof bad_verbose[0]; i++) {
        setenv("WEFT_VERBOSE", bad_verbose[i], 1);
        CHECK_EQ(weft_config_current(&o), WEFT_ENV);
        CHECK_HAS(weft_last_error()->message, "WEFT_VERBOSE");
        CHECK_HAS(weft_last_error()->message, bad_verbose[i]);
    }
    CHECK_EQ(weft_pool_open(&pool, NULL), WEFT_ENV);
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 4, out, 8), WEFT_ENV);
    unsetenv("WEFT_VERBOSE");

    /* once the variable is fixed, calls work again */
    CHECK_EQ(weft_map(NULL, WEFT_FN(square), in, 8, 4, out, 8), 0);
    CHECK_EQ(out[3], 16);
}

static void check_env_values(void) {
    weft_options o;
    setenv("WEFT_BACKEND", "sequential", 1);
    setenv("WEFT_N_JOBS", "3", 1);
    setenv("WEFT_VERBOSE", "0", 1);
    CHECK_EQ(weft_config_current(&o), 0);
    CHECK_STR(o.backend, "sequential");
    CHECK_EQ(o.n_jobs, 3);
    CHECK_EQ(o.verbose, 0);
    CHECK_EQ(o.batch_size, 0);

    /* NULL-pool calls follow it */
    int level;
    CHECK_EQ(who_ran(3000, &level), 1u);

    /* pools opened now keep it */
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, NULL), 0);
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), 3);

    /* explicit options and scopes win over the environment, field by field */
    weft_pool *explicit_pool = NULL;
    weft_options ex = opts(PAR, 2);
    CHECK_EQ(weft_pool_open(&explicit_pool, &ex), 0);
    CHECK_STR(weft_pool_backend(explicit_pool), PAR);
    CHECK_EQ(weft_pool_n_jobs(explicit_pool), 2);
    weft_pool_close(explicit_pool);
    weft_options scope = opts(PAR, 0);
    CHECK_EQ(weft_config_push(&scope), 0);
    o = current();
    CHECK_STR(o.backend, PAR);
    CHECK_EQ(o.n_jobs, 3); /* from WEFT_N_JOBS */
    CHECK_EQ(weft_config_pop(), 0);

    setenv("WEFT_N_JOBS", "-2", 1);
    setenv("WEFT_VERBOSE", "7", 1);
    setenv("WEFT_BACKEND", PAR, 1);
    o = current();
    CHECK_STR(o.backend, PAR);
    CHECK_EQ(o.n_jobs, -2);
    CHECK_EQ(o.verbose, 7);
    setenv("WEFT_N_JOBS", " 2 ", 1); /* surrounding blanks are fine */
    CHECK_EQ(current().n_jobs, 2);
    setenv("WEFT_N_JOBS", "", 1); /* empty means unset */
    setenv("WEFT_VERBOSE", "", 1);
    setenv("WEFT_BACKEND", "", 1);
    o = current();
    check_defaults(&o);

    /* the pool opened earlier did not follow the later changes */
    clear_env();
    CHECK_STR(weft_pool_backend(pool), "sequential");
    CHECK_EQ(weft_pool_n_jobs(pool), 3);
    weft_pool_close(pool);
    weft_shutdown();
}

int main(void) {
    clear_env();
    check_options_init();
    check_n_jobs();
    check_open();
    check_nesting();
    check_thread_local();
    check_explicit_wins();
    check_null_pool_follows_scope();
    check_env_errors();
    check_env_values();
    clear_env();
    weft_shutdown();
    return CHECK_DONE();
}
