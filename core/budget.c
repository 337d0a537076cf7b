/* One CPU budget for nested work (docs/nested.md).
 *
 * The budget is what weft_cpu_count() says: the machine's usable CPUs, or WEFT_CPU_BUDGET
 * when set. A worker process of an n_jobs = k processes map is given its share
 * (budget / k, at least 1) through that variable, so everything it opens sizes to it.
 * Inside one process, a map on another in-process pool called from a task runs on the
 * task's own pool (weft__budget_pool), so nesting never adds running threads; separate
 * pools used at the same time share the budget through seats (below). */
#include "internal.h"

#include <stdio.h>
#include <string.h>

#define BUDGET_ENV "WEFT_CPU_BUDGET"
/* how long a worker without a seat waits before it looks at its run again */
#define SEAT_RECHECK_NS 10000000u

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

/* An explicit in-process parallel pool asked for inside a task: the task's own pool instead when
 * that runs here too, so the inner map's items go to the outer pool's workers (idle ones
 * take them; busy ones finish their own first) and the inner pool's threads never run. */
weft_pool *weft__budget_pool(weft_pool *asked) {
    const weft__job *outer = weft__current_job();
    if (!outer || !outer->pool || outer->pool == asked) return asked;
    unsigned here = WEFT_CAP_SHARED_MEMORY | WEFT_CAP_NESTED;
    /* a pool asked to run in order (sequential) keeps that promise */
    if ((asked->backend->caps & (here | WEFT_CAP_PARALLEL)) != (here | WEFT_CAP_PARALLEL) ||
        (outer->pool->backend->caps & here) != here)
        return asked;
    return outer->pool;
}

/* ---- seats for the worker threads of separate pools */

static atomic_int seated_pools, seats_taken, seat_waiters;
static atomic_int seat_limit; /* budget - 1, as the latest pool to join saw the budget */
/* where workers without a seat wait: made on the first join, kept for the process's life */
static weft_plat_spinlock seat_init = WEFT_PLAT_SPINLOCK_INIT;
static int seat_ready;
static weft_plat_mutex seat_lock;
static weft_plat_cond seat_freed;

void weft__budget_seats_join(void) {
    weft_plat_spin_lock(&seat_init);
    if (!seat_ready) {
        weft_plat_mutex_init(&seat_lock);
        weft_plat_cond_init(&seat_freed);
        seat_ready = 1;
    }
    weft_plat_spin_unlock(&seat_init);
    atomic_store_explicit(&seat_limit, weft_cpu_count() - 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&seated_pools, 1, memory_order_relaxed);
}

void weft__budget_seats_leave(void) { atomic_fetch_sub_explicit(&seated_pools, 1, memory_order_relaxed); }

static int seat_try(void) {
    /* one pool alone cannot pass the budget: its workers are at most budget - 1 */
    if (atomic_load_explicit(&seated_pools, memory_order_relaxed) <= 1) return 0;
    int limit = atomic_load_explicit(&seat_limit, memory_order_relaxed);
    int taken = atomic_load_explicit(&seats_taken, memory_order_relaxed);
    do {
        if (taken >= limit) return -1;
    } while (!atomic_compare_exchange_weak_explicit(&seats_taken, &taken, taken + 1, memory_order_acquire,
                                                    memory_order_relaxed));
    return 1;
}

int weft__budget_seat_take(void) {
    int got = seat_try();
    if (got >= 0) return got;
    /* wait for a seat to be given back; look again now and then all the same, since the
     * run this worker wanted may end meanwhile (its caller finishes it) */
    weft_plat_mutex_lock(&seat_lock);
    atomic_fetch_add_explicit(&seat_waiters, 1, memory_order_seq_cst);
    got = seat_try();
    if (got < 0) weft_plat_cond_timedwait(&seat_freed, &seat_lock, SEAT_RECHECK_NS);
    atomic_fetch_sub_explicit(&seat_waiters, 1, memory_order_relaxed);
    weft_plat_mutex_unlock(&seat_lock);
    return got < 0 ? seat_try() : got;
}

void weft__budget_seat_give(void) {
    atomic_fetch_sub_explicit(&seats_taken, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&seat_waiters, memory_order_seq_cst) == 0) return;
    weft_plat_mutex_lock(&seat_lock);
    weft_plat_cond_broadcast(&seat_freed);
    weft_plat_mutex_unlock(&seat_lock);
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
}
