/* One CPU budget for nested work (docs/nested.md).
 *
 * The budget is what weft_cpu_count() says: the machine's usable CPUs, or WEFT_CPU_BUDGET
 * when set. A worker process of an n_jobs = k processes map is given its share
 * (budget / k, at least 1) through that variable, so everything it opens sizes to it.
 * Inside one process, threads-pool workers run only while they hold a token: there are
 * as many tokens as the outermost running maps have helper threads (or budget - 1 when
 * none runs; the calling thread is the one more), so a threads pool opened inside a task
 * borrows the outer pool's idle workers instead of adding running threads. */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define BUDGET_ENV "WEFT_CPU_BUDGET"

/* Set in a process that was handed its share (a worker process, an MPI rank): 0 none. */
static int forced_share;

static int env_budget(void) {
    static int warned;
    const char *s = weft_plat_getenv(BUDGET_ENV);
    int64_t v;
    if (!s || !*s) return 0;
    if (weft__parse_i64(s, 1, 1 << 20, &v) == 0) return (int)v;
    if (!__atomic_exchange_n(&warned, 1, __ATOMIC_RELAXED)) {
        char why[160];
        int n = snprintf(why, sizeof why, "weft: %s='%.40s' is not a CPU count >= 1: ignored\n", BUDGET_ENV, s);
        weft_plat_write_stderr(why, n > 0 && (size_t)n < sizeof why ? (size_t)n : sizeof why - 1);
    }
    return 0;
}

int weft_cpu_count(void) {
    if (forced_share > 0) return forced_share;
    int b = env_budget();
    return b > 0 ? b : weft_plat_cpu_count();
}

int weft__budget_share(int sharers) {
    int share = weft_cpu_count() / (sharers > 0 ? sharers : 1);
    return share > 1 ? share : 1;
}

int weft__budget_task_cpus(const weft__job *job) {
    if (job->cpus > 0) return job->cpus;
    return weft__budget_share(weft__pool_backend(job->pool)->caps & WEFT_CAP_PARALLEL ? job->pool->workers : 1);
}

/* ---- tokens for threads-pool workers */

static weft_plat_spinlock init_lock = WEFT_PLAT_SPINLOCK_INIT;
static int ready;
static weft_plat_mutex lock;
static weft_plat_cond freed;
static int in_use, waiting, top_runs, top_helpers, base_helpers;

static void ensure_ready(void) {
    if (__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) return;
    weft_plat_spin_lock(&init_lock);
    if (!ready) {
        weft_plat_mutex_init(&lock);
        weft_plat_cond_init(&freed);
        base_helpers = weft_cpu_count() - 1;
        __atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
    }
    weft_plat_spin_unlock(&init_lock);
}

static int capacity(void) { return top_runs ? top_helpers : base_helpers; }

int weft__budget_acquire(const int *stopping) {
    ensure_ready();
    weft_plat_mutex_lock(&lock);
    while (in_use >= capacity() && !__atomic_load_n(stopping, __ATOMIC_RELAXED)) {
        waiting++;
        weft_plat_cond_wait(&freed, &lock);
        waiting--;
    }
    int got = !__atomic_load_n(stopping, __ATOMIC_RELAXED);
    in_use += got;
    weft_plat_mutex_unlock(&lock);
    return got;
}

void weft__budget_release(void) {
    weft_plat_mutex_lock(&lock);
    in_use--;
    if (waiting) weft_plat_cond_broadcast(&freed);
    weft_plat_mutex_unlock(&lock);
}

void weft__budget_top(int helpers) {
    ensure_ready();
    weft_plat_mutex_lock(&lock);
    top_runs += helpers >= 0 ? 1 : -1;
    top_helpers += helpers;
    if (waiting) weft_plat_cond_broadcast(&freed);
    weft_plat_mutex_unlock(&lock);
}

void weft__budget_wake_all(void) {
    ensure_ready();
    weft_plat_mutex_lock(&lock);
    weft_plat_cond_broadcast(&freed);
    weft_plat_mutex_unlock(&lock);
}

/* ---- a process handed its share */

/* The variables the usual threading runtimes read for their pool size. */
static const char *const runtime_vars[] = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                           "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS",
                                           "BLIS_NUM_THREADS"};

void weft__budget_take_share(int share, void (*set_env)(const char *name, const char *value)) {
    if (share < 1) share = 1;
    char value[16], inherited[16] = "";
    snprintf(value, sizeof value, "%d", share);
    /* a value equal to the budget this process inherited was set by weft one level up */
    const char *up = weft_plat_getenv(BUDGET_ENV);
    if (up) snprintf(inherited, sizeof inherited, "%s", up);
    for (size_t i = 0; i < sizeof runtime_vars / sizeof runtime_vars[0]; i++) {
        const char *v = weft_plat_getenv(runtime_vars[i]);
        if (!v || !*v || (*inherited && strcmp(v, inherited) == 0)) set_env(runtime_vars[i], value);
    }
    set_env(BUDGET_ENV, value);
    set_env("WEFT_N_JOBS", value); /* the outer map's width is not this process's */
    forced_share = share;
    /* the tokens restart from this share (a forked child inherits its parent's) */
    __atomic_store_n(&ready, 0, __ATOMIC_RELEASE);
    in_use = waiting = top_runs = top_helpers = 0;
    ensure_ready();
}
