/* Pools: a backend with its workers, opened once and reused; and the shared default
 * pools that calls with a NULL pool use. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

int weft_pool_open(weft_pool **out, const weft_options *options) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_pool_open: out is NULL");
    *out = NULL;
    weft_options o;
    if (options)
        o = *options;
    else
        weft_options_init(&o);
    int rc = weft__resolve_options(&o);
    if (rc) return rc;
    const weft_backend *b = weft_backend_find(o.backend);
    size_t state_at = (sizeof(weft_pool) + 63) & ~(size_t)63;
    weft_pool *pool = calloc(1, state_at + b->state_size);
    if (!pool) return weft__set_error(WEFT_ENOMEM, "weft_pool_open: out of memory");
    pool->backend = b;
    pool->options = o;
    pool->options.backend = b->name; /* the env string may change; the name stays */
    pool->workers = weft_resolve_n_jobs(o.n_jobs);
    pool->state = (char *)pool + state_at;
    rc = b->start ? b->start(pool->state, pool->workers) : 0;
    if (rc) {
        int workers = pool->workers;
        free(pool);
        return weft__set_error(rc, "backend '%s' could not start %d workers", b->name, workers);
    }
    *out = pool;
    weft__clear_error();
    return 0;
}

void weft_pool_close(weft_pool *pool) {
    if (!pool) return;
    if (pool->backend->stop) pool->backend->stop(pool->state);
    free(pool);
}

const char *weft_pool_backend(const weft_pool *pool) { return pool ? pool->backend->name : NULL; }
int weft_pool_n_jobs(const weft_pool *pool) { return pool ? pool->workers : 0; }

/* ---- default pools, one per (backend, worker count) a program asks for */

#define MAX_DEFAULT_POOLS 8
static weft_pool *defaults[MAX_DEFAULT_POOLS];
static weft_plat_spinlock defaults_lock = WEFT_PLAT_SPINLOCK_INIT;
static int exit_hook_set;

static void take(void) {
    weft_plat_spin_lock(&defaults_lock);
}
static void give(void) { weft_plat_spin_unlock(&defaults_lock); }

void weft_shutdown(void) {
    take();
    for (int i = 0; i < MAX_DEFAULT_POOLS; i++) {
        weft_pool_close(defaults[i]);
        defaults[i] = NULL;
    }
    give();
}

static int default_pool(const weft_options *o, weft_pool **out) {
    int workers = weft_resolve_n_jobs(o->n_jobs);
    if (workers < 0) return workers;
    take();
    int free_slot = -1, rc = 0;
    *out = NULL;
    for (int i = 0; i < MAX_DEFAULT_POOLS && !*out; i++) {
        weft_pool *p = defaults[i];
        if (!p) {
            if (free_slot < 0) free_slot = i;
        } else if (p->workers == workers && strcmp(p->backend->name, o->backend) == 0) {
            *out = p;
        }
    }
    if (!*out) {
        weft_options want = *o;
        want.n_jobs = workers;
        rc = free_slot < 0 ? weft__set_error(WEFT_ENOMEM, "more than %d different default pools in use; open pools explicitly", MAX_DEFAULT_POOLS)
                           : weft_pool_open(out, &want);
        if (rc == 0) defaults[free_slot] = *out;
        if (rc == 0 && !exit_hook_set) exit_hook_set = atexit(weft_shutdown) == 0;
    }
    give();
    return rc;
}

/* The pool and per-call options a call runs with. Explicit pools keep what they were
 * opened with; a NULL pool follows the scope and the environment at each call. */
int weft__pool_for_call(weft_pool **pool, weft_options *call) {
    if (*pool) {
        *call = (*pool)->options;
        *pool = weft__budget_pool(*pool); /* nested: the one CPU budget (core/budget.c) */
        return 0;
    }
    /* a nested call from a task without a scope of its own joins the outer pool */
    weft__job *outer = weft__current_job();
    if (outer && weft__scope_depth() == 0) {
        *pool = outer->pool;
        *call = outer->options;
        return 0;
    }
    weft_options_init(call);
    int rc = weft__resolve_options(call);
    return rc ? rc : default_pool(call, pool);
}

const char *weft_version(void) { return "0.1.0"; }
