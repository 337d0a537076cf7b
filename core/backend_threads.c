/* The threads backend: a work-stealing pool.
 *
 * Each call becomes a "run" whose index range is split into one slot per worker. A
 * worker takes batches from the front of its own slot; when that is empty it steals the
 * back half of the fullest other slot, so slots behave as per-worker deques of index
 * ranges and the tail of a map is split until no worker idles. The calling thread is
 * worker 0 and works too, so a map on a warm pool costs no thread wake-up when the
 * caller can do the work itself, and a task that calls weft_map (nested) keeps running
 * its inner map's items instead of blocking: no deadlock, no idle waiting.
 *
 * Automatic batches follow core/batching.h (about a millisecond each); a batch never
 * takes more than half of what is left in its slot, which leaves the tail to thieves.
 * Idle workers spin for a short while (waking a sleeping thread costs
 * 30-50 us) and then sleep on a condition variable. Where separate pools of this process
 * map at the same time, a worker works on a run only while it holds a seat of the CPU
 * budget (core/budget.c); the callers keep every run going meanwhile. */
#include "batching.h"
#include "internal.h"
#include "trace.h"

#include <stdlib.h>
#include <string.h>

#define SPIN_NS 100000u
/* 2^40 items, or half of what size_t holds where it is 32 bits wide (wasm32) */

typedef struct slot {
    weft_plat_spinlock lock;
    /* items not yet claimed: [lo, hi); written under the lock, peeked at without it */
    atomic_size_t lo, hi;
    atomic_size_t done; /* items its owner went through, for progress */
} __attribute__((aligned(64))) slot;

/* Per-thread batch sizing state for one run: the size, and the fewest items a tail split
 * leaves in a batch (core/batching.h), from the last batch's time. */
typedef struct batcher {
    size_t fixed, size, tail_min;
} batcher;

static batcher batcher_for(const weft__job *job) {
    return (batcher){(size_t)weft__job_batch_size(job), weft__job_batch_start(job), 1};
}

typedef struct run {
    weft__job *job;
    slot *slots;
    atomic_int refs; /* threads inside the run, the caller included */
    int me;          /* the submitting thread's slot */
    batcher helper;  /* the submitting thread's batches when it helps (iterators) */
    struct run *next;
} run;

typedef struct threads_state {
    int n_workers; /* slots per run; threads = n_workers - 1 */
    weft_plat_thread **threads;
    struct worker_arg *args;
    weft_plat_mutex lock; /* guards active, sleepers, stopping */
    weft_plat_cond wake;
    weft_plat_mutex done_lock; /* callers sleep here until their run drains */
    weft_plat_cond done;
    run *active;
    atomic_uint epoch; /* bumped whenever a run is published */
    int sleepers;
    int stopping;
    int serial;    /* names its threads' trace tracks */
    int n_started; /* threads running: started on the first parallel run */
    int seated;    /* its workers take seats of the budget (core/budget.c) */
} threads_state;

typedef struct worker_arg {
    threads_state *st;
    int id;
} worker_arg;

/* Which pool and worker id this thread is, so nested calls use the right slot. */
static _Thread_local threads_state *my_pool;
static _Thread_local int my_id;

static void slot_lock(slot *s) { weft_plat_spin_lock(&s->lock); }
static void slot_unlock(slot *s) { weft_plat_spin_unlock(&s->lock); }

static size_t peek(atomic_size_t *v) { return atomic_load_explicit(v, memory_order_relaxed); }
static void put(atomic_size_t *v, size_t x) { atomic_store_explicit(v, x, memory_order_relaxed); }
static size_t left_in(slot *s) {
    size_t lo = peek(&s->lo), hi = peek(&s->hi);
    return hi > lo ? hi - lo : 0;
}

/* Claim up to `want` items from the front of a slot; returns how many. */
static size_t take_front(slot *s, size_t want, size_t *begin) {
    slot_lock(s);
    size_t left = left_in(s);
    size_t got = want < left ? want : left;
    *begin = peek(&s->lo);
    put(&s->lo, *begin + got);
    slot_unlock(s);
    return got;
}

/* Move the back half of the fullest other slot into `mine`. 0 when nothing is left. */
static int steal(run *r, int n_slots, int me) {
    for (;;) {
        int victim = -1;
        size_t most = 0;
        for (int k = 0; k < n_slots; k++) {
            size_t left = left_in(&r->slots[k]); /* a peek; checked again under the lock */
            if (k != me && left > most) most = left, victim = k;
        }
        if (victim < 0) return 0;
        slot *v = &r->slots[victim];
        slot_lock(v);
        size_t lo = peek(&v->lo), hi = peek(&v->hi);
        if (hi <= lo) {
            slot_unlock(v);
            continue; /* its owner emptied it meanwhile: look again */
        }
        size_t mid = lo + (hi - lo) / 2;
        put(&v->hi, mid);
        slot_unlock(v);
        slot *m = &r->slots[me];
        slot_lock(m);
        put(&m->lo, mid);
        put(&m->hi, hi);
        slot_unlock(m);
        return 1;
    }
}

static size_t count_done(run *r, int n_slots) {
    size_t done = 0;
    for (int k = 0; k < n_slots; k++)
        done += atomic_load_explicit(&r->slots[k].done, memory_order_relaxed);
    return done;
}

/* Claim and run one batch of a run from my slot, stealing when it is empty. Returns 0
 * when nothing is left to claim. The caller also reports progress. */
static int work_one(threads_state *st, run *r, int me, int is_caller, batcher *b) {
    weft__job *job = r->job;
    slot *mine = &r->slots[me];
    if (b->fixed) b->size = b->fixed;
    size_t begin, got;
    for (;;) {
        if (weft__job_stopping(job)) return 0;
        size_t left = left_in(mine), want = b->size;
        if (!b->fixed) want = weft__batch_tail(want, left, 1, b->tail_min);
        got = take_front(mine, want, &begin);
        if (got) break;
        if (!steal(r, st->n_workers, me)) return 0;
    }
    uint64_t t0 = b->fixed ? 0 : weft_plat_now_ns();
    weft__job_run(job, begin, begin + got, me);
    atomic_store_explicit(&mine->done, atomic_load_explicit(&mine->done, memory_order_relaxed) + got,
                          memory_order_relaxed);
    if (!b->fixed) {
        uint64_t took = weft_plat_now_ns() - t0;
        b->tail_min = weft__batch_tail_min(got, took);
        if (got == b->size) {
            b->size = weft__batch_next(b->size, took);
            weft__job_batch_grew(job, b->size);
        }
    }
    if (is_caller && weft__job_progress_due(job)) weft__job_progress(job, count_done(r, st->n_workers));
    return 1;
}

/* Work on a run until nothing is left to claim. */
static void work(threads_state *st, run *r, int me, int is_caller) {
    batcher b = batcher_for(r->job);
    while (work_one(st, r, me, is_caller, &b)) {
    }
}

static int has_work(run *r, int n_slots) {
    if (weft__job_stopping(r->job)) return 0;
    for (int k = 0; k < n_slots; k++)
        if (left_in(&r->slots[k])) return 1;
    return 0;
}

/* Leave a run; the last one out wakes the caller. The run may be gone right after the
 * decrement, so only pool-wide objects are touched then. */
static void leave(threads_state *st, run *r) {
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) == 1) {
        weft_plat_mutex_lock(&st->done_lock);
        weft_plat_cond_broadcast(&st->done);
        weft_plat_mutex_unlock(&st->done_lock);
    }
}

/* Enter the newest run that still has work (newest first: inner maps finish first). */
static run *enter_any(threads_state *st) {
    run *found = NULL;
    weft_plat_mutex_lock(&st->lock);
    for (run *r = st->active; r && !found; r = r->next)
        if (has_work(r, st->n_workers)) {
            atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
            found = r;
        }
    weft_plat_mutex_unlock(&st->lock);
    return found;
}

static void worker_main(void *p) {
    worker_arg *a = p;
    threads_state *st = a->st;
    my_pool = st;
    my_id = a->id;
    weft__trace_name_thread("threads pool %d worker %d", st->serial, a->id);
    for (;;) {
        unsigned seen = atomic_load_explicit(&st->epoch, memory_order_acquire);
        run *r = enter_any(st);
        if (r) {
            int seat = st->seated ? weft__budget_seat_take() : 0;
            if (seat < 0) { /* the budget is in use by other pools; this run's caller goes on */
                leave(st, r);
                continue;
            }
            work(st, r, a->id, 0);
            if (seat > 0) weft__budget_seat_give();
            leave(st, r);
            continue;
        }
        uint64_t until = weft_plat_now_ns() + SPIN_NS;
        int spins = 0;
        while (atomic_load_explicit(&st->epoch, memory_order_acquire) == seen) {
            weft_plat_cpu_relax();
            if ((++spins & 63) == 0 && weft_plat_now_ns() > until) break;
        }
        weft_plat_mutex_lock(&st->lock);
        if (st->stopping) {
            weft_plat_mutex_unlock(&st->lock);
            return;
        }
        if (atomic_load_explicit(&st->epoch, memory_order_relaxed) == seen) {
            st->sleepers++;
            weft_plat_cond_wait(&st->wake, &st->lock);
            st->sleepers--;
        }
        int stop = st->stopping;
        weft_plat_mutex_unlock(&st->lock);
        if (stop) return;
    }
}

static void publish(threads_state *st, run *r, size_t n_items) {
    weft_plat_mutex_lock(&st->lock);
    r->next = st->active;
    st->active = r;
    atomic_fetch_add_explicit(&st->epoch, 1, memory_order_release);
    /* wake only as many sleepers as there are items for */
    int wake = st->sleepers;
    if ((size_t)wake > n_items - 1) wake = (int)(n_items - 1);
    for (int i = 0; i < wake; i++) weft_plat_cond_signal(&st->wake);
    weft_plat_mutex_unlock(&st->lock);
}

static void unpublish(threads_state *st, run *r) {
    weft_plat_mutex_lock(&st->lock);
    for (run **link = &st->active; *link; link = &(*link)->next)
        if (*link == r) {
            *link = r->next;
            break;
        }
    weft_plat_mutex_unlock(&st->lock);
}

/* Inline jobs (one item, or a pool of one) run on the caller like the sequential
 * backend; they have no run record. */
static int runs_inline(const threads_state *st, const weft__job *job) {
    return weft__job_size(job) <= 1 || st->n_workers == 1;
}

/* Start the worker threads. A pool opened outside any task starts them at once (and
 * fails to open when it cannot); one opened inside a task, whose maps run on the task's
 * pool (core/budget.c), only on its first parallel run of its own: it adds no thread. */
static void start_threads(threads_state *st) {
    weft_plat_mutex_lock(&st->lock);
    int rc = 0;
    for (int i = st->n_started; i < st->n_workers - 1 && rc == 0; i++) {
        st->args[i].st = st;
        st->args[i].id = i + 1;
        rc = weft_plat_thread_start(&st->threads[i], worker_main, &st->args[i]) ? WEFT_ESYS : 0;
        if (rc == 0) __atomic_store_n(&st->n_started, i + 1, __ATOMIC_RELEASE);
    }
    weft_plat_mutex_unlock(&st->lock);
}

static int threads_submit(void *state, weft__job *job) {
    threads_state *st = state;
    size_t n = weft__job_size(job);
    if (runs_inline(st, job)) return 0;
    /* a thread that could not start leaves its slot to the others, who steal it */
    if (__atomic_load_n(&st->n_started, __ATOMIC_ACQUIRE) < st->n_workers - 1) start_threads(st);
    int w = st->n_workers;
    int me = my_pool == st ? my_id : 0;
    run *r = malloc(sizeof *r);
    slot *slots = aligned_alloc(64, sizeof(slot) * (size_t)w);
    if (!r || !slots) {
        free(r);
        free(slots);
        return WEFT_ENOMEM;
    }
    for (int k = 0; k < w; k++) {
        /* my own share comes first, so a small map starts right here */
        int share = (k - me + w) % w;
        slots[k].lock = (weft_plat_spinlock)WEFT_PLAT_SPINLOCK_INIT;
        atomic_init(&slots[k].lo, n * (size_t)share / (size_t)w);
        atomic_init(&slots[k].hi, n * (size_t)(share + 1) / (size_t)w);
        atomic_init(&slots[k].done, 0);
    }
    r->job = job;
    r->slots = slots;
    r->me = me;
    r->helper = batcher_for(job);
    r->next = NULL;
    atomic_init(&r->refs, 1);
    job->backend_data = r;
    publish(st, r, n);
    return 0;
}

static int threads_help(void *state, weft__job *job) {
    threads_state *st = state;
    run *r = job->backend_data;
    if (!r) return weft__job_run_next(job, my_pool == st ? my_id : 0) > 0;
    /* batches that grow as in `work`: a reader that helps item by item pays a claim and
     * a clock read per item */
    return work_one(st, r, r->me, 1, &r->helper);
}

static int threads_finish(void *state, weft__job *job) {
    threads_state *st = state;
    run *r = job->backend_data;
    if (!r) {
        while (weft__job_run_next(job, my_pool == st ? my_id : 0)) {
        }
        return 0;
    }
    work(st, r, r->me, 1);
    unpublish(st, r);
    if (atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1) {
        uint64_t until = weft_plat_now_ns() + SPIN_NS;
        while (atomic_load_explicit(&r->refs, memory_order_acquire) != 0 && weft_plat_now_ns() < until)
            weft_plat_cpu_relax();
        weft_plat_mutex_lock(&st->done_lock);
        while (atomic_load_explicit(&r->refs, memory_order_acquire) != 0)
            weft_plat_cond_wait(&st->done, &st->done_lock);
        weft_plat_mutex_unlock(&st->done_lock);
    }
    free(r->slots);
    free(r);
    job->backend_data = NULL;
    return 0;
}

static int threads_run(void *state, weft__job *job) {
    int rc = threads_submit(state, job);
    return rc ? rc : threads_finish(state, job);
}

static void threads_stop(void *state) {
    threads_state *st = state;
    weft_plat_mutex_lock(&st->lock);
    st->stopping = 1;
    weft_plat_cond_broadcast(&st->wake);
    weft_plat_mutex_unlock(&st->lock);
    for (int i = 0; i < st->n_started; i++) weft_plat_thread_join(st->threads[i]);
    if (st->seated) weft__budget_seats_leave();
    free(st->threads);
    free(st->args);
    weft_plat_cond_destroy(&st->wake);
    weft_plat_mutex_destroy(&st->lock);
    weft_plat_cond_destroy(&st->done);
    weft_plat_mutex_destroy(&st->done_lock);
}

static int threads_start(void *state, int n_workers) {
    threads_state *st = state;
    static atomic_int pools;
    st->n_workers = n_workers;
    st->serial = atomic_fetch_add(&pools, 1) + 1;
    weft_plat_mutex_init(&st->lock);
    weft_plat_cond_init(&st->wake);
    weft_plat_mutex_init(&st->done_lock);
    weft_plat_cond_init(&st->done);
    atomic_init(&st->epoch, 0);
    int n_threads = n_workers - 1;
    st->threads = calloc((size_t)n_threads + 1, sizeof *st->threads);
    st->args = calloc((size_t)n_threads + 1, sizeof *st->args);
    if (!st->threads || !st->args) {
        threads_stop(st);
        return WEFT_ENOMEM;
    }
    if (weft__current_job()) return 0; /* opened in a task: its maps run on the task's pool */
    /* a pool asked for more workers than the budget oversubscribes on purpose (tasks that
     * wait): it takes no seats */
    st->seated = n_workers > 1 && n_workers <= weft_cpu_count();
    if (st->seated) weft__budget_seats_join();
    start_threads(st);
    if (st->n_started == n_threads) return 0;
    threads_stop(st);
    return WEFT_ESYS;
}

const weft_backend weft__backend_threads = {
    .version = WEFT_BACKEND_VERSION,
    .name = "threads",
    .caps = WEFT_CAP_SHARED_MEMORY | WEFT_CAP_PARALLEL | WEFT_CAP_NESTED,
    .state_size = sizeof(threads_state),
    .start = threads_start,
    .run = threads_run,
    .stop = threads_stop,
    .submit = threads_submit,
    .help = threads_help,
    .finish = threads_finish,
};
