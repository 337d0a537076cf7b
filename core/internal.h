/* Declarations shared by core/ files (prefix weft__). Not installed. */
#ifndef WEFT_INTERNAL_H
#define WEFT_INTERNAL_H

#include "../platform/platform.h"
#include "backend.h"
#include "weft.h"

#include <stdatomic.h>
#include <string.h>

/* ---- errors.c */
/* Clear, or set, this thread's last error; setting returns `code` for tail calls. */
void weft__clear_error(void);
int weft__set_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef struct weft__failure {
    int code;      /* WEFT_ETASK, WEFT_EOUTSIZE, WEFT_ECANCELED */
    int status;    /* what the task returned */
    int64_t index; /* -1 when no task is to blame (cancelled from outside) */
    char message[256];
} weft__failure;
int weft__set_task_error(const weft__failure *f, const char *task_name);

/* ---- config.c */
/* Fill every unset field of `o` from the scope stack, the environment and the defaults.
 * Returns 0, or WEFT_ENV / WEFT_EINVAL / WEFT_ENOBACKEND with the last error set. */
int weft__resolve_options(weft_options *o);
/* A whole number from outside (an environment variable, a tool argument), strictly: an
 * optional '-', decimal digits, nothing else (no blanks, no "0x", no "1e3"), within
 * [min, max]. 0, or -1 with *out untouched. */
int weft__parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Scopes pushed on this thread. */
int weft__scope_depth(void);

/* ---- budget.c: one CPU budget for nested work (docs/nested.md) */
/* Each of `sharers` workers' share of this process's budget: budget / sharers, >= 1. */
int weft__budget_share(int sharers);
/* What weft_task_cpus says for a task of `job`. */
int weft__budget_task_cpus(const weft__job *job);
/* The pool a call on the explicit pool `asked` runs on: inside a task whose pool runs in
 * this process (threads, sequential, a worker process's own), when `asked` is a parallel
 * pool of this process too (threads), the task's pool; else `asked`. */
weft_pool *weft__budget_pool(weft_pool *asked);
/* This process was handed `share` CPUs (a worker process, an MPI rank): weft_cpu_count
 * says so from now on, WEFT_CPU_BUDGET and WEFT_N_JOBS pass it on to processes started
 * from here, and set_env is called for each threading runtime's variable (OMP_NUM_THREADS
 * and the BLAS ones) the user did not set. */
void weft__budget_take_share(int share, void (*set_env)(const char *name, const char *value));
/* Seats: the worker threads of separate in-process pools share the budget. A pool of at
 * most budget workers is seated: it joins at start and leaves at stop, and each of its
 * worker threads takes a seat for as long as it works on a run. There are budget - 1
 * seats (the thread that called the map works without one). */
void weft__budget_seats_join(void);
void weft__budget_seats_leave(void);
/* 1: a seat taken; 0: none needed (only one seated pool exists); -1: none was given
 * back within a short wait (the caller looks at its run again, then asks again). */
int weft__budget_seat_take(void);
void weft__budget_seat_give(void);

/* ---- progress.c */
typedef struct weft__progress {
    int verbose;
    weft_progress_fn fn;
    void *user;
    int tty;
    size_t total;
    uint64_t start_ns, next_ns, interval_ns;
} weft__progress;
void weft__progress_begin(weft__progress *p, const weft_options *o, size_t total);
/* Non-zero when an update is worth computing now (cheap: one clock read at most). */
static inline int weft__progress_due(const weft__progress *p) {
    return (p->verbose > 0 || p->fn) && weft_plat_now_ns() >= p->next_ns;
}
/* Report `done`; returns non-zero when the callback asks to cancel. */
int weft__progress_update(weft__progress *p, size_t done);
void weft__progress_end(weft__progress *p, size_t done);
/* One status line: "done 1200/10000 | elapsed 1.2 s | left ~9.1 s" (with a bar when
 * `bar` is set). Returns the length written. */
size_t weft__progress_format(char *buf, size_t size, const weft_progress *pr, int bar);

/* ---- the job: one parallel call, run by a backend */
typedef enum weft__job_kind {
    WEFT__JOB_MAP,    /* fixed-size items */
    WEFT__JOB_BYTES,  /* variable-size items */
    WEFT__JOB_FOR,    /* an index range and a body */
    WEFT__JOB_REDUCE, /* fixed-size inputs folded into accumulators */
} weft__job_kind;

/* What a job runs, as its caller described it: the task, the items, where results go.
 * Backends read it (those in other address spaces send it on in their own wire form);
 * only the layer above dispatch changes it, narrowing it to the items still to run. */
typedef struct weft__call {
    weft__job_kind kind;
    size_t n;                  /* items the backend runs */
    const weft_task_def *task; /* MAP, BYTES, REDUCE */
    const unsigned char *inputs;
    size_t in_size;
    unsigned char *outputs;
    size_t out_size;
    const weft_bytes *in_bytes; /* BYTES */
    weft_bytes *out_bytes;
    size_t *out_caps; /* BYTES: when set, out_bytes buffers of these capacities are reused */
    weft_for_fn body; /* FOR */
    void *ctx;
    size_t begin; /* FOR: the first index; MAP/BYTES: the index of item 0 in the whole call
                   * (an iterator's chunk, a wasm worker's batch): weft_task_index adds it */
    /* Narrowed by a layer above dispatch (Memory), which served the other items: item j
     * is then the call's item begin + index_of[j]. NULL: item j is begin + j. */
    const size_t *index_of;
    weft_status *statuses; /* collect-all: one per item; NULL: fail fast */

    /* REDUCE: accumulators, one per worker; or, deterministic, one per chunk, where each
     * of the n items is a chunk of the n_tasks tasks */
    const weft_reducer *reducer;
    unsigned char *accs;
    size_t acc_stride;
    int chunked;
    size_t n_tasks;
} weft__call;

/* One parallel call on its way through a pool: the call description, and the state of
 * running it (limits, the first failure, progress, the callbacks of whoever watches). */
struct weft__job {
    weft__call call;

    /* called after every item, also skipped ones (code WEFT_ECANCELED) */
    void (*on_item)(weft__job *job, size_t index, int code, const char *message);
    /* called at the end of every batch that ran or skipped items */
    void (*on_batch)(weft__job *job);
    void *on_item_user;
    /* called as each task starts (worker processes use it to name the running task) */
    void (*on_start)(weft__job *job, size_t index);
    /* optional, for a watcher that takes successes a run at a time (an iterator): items
     * run on this process's threads report items [begin, end) that succeeded with one
     * call, when a failure breaks the run or the batch ends, and each item at once while
     * *eager is set (its reader waits); failed and skipped items still go to on_item, and
     * so does every item under a layer above dispatch (it watches them one by one) or from
     * another process. Set both or neither. */
    void (*on_run)(weft__job *job, size_t begin, size_t end);
    const atomic_int *eager;

    int batch_size; /* 0: the backend sizes batches itself */
    int level;      /* nesting level of this job's tasks */
    int cpus;       /* CPUs each task may use; 0: the budget over the pool's workers */
    weft_pool *pool;
    weft_options options; /* what the call runs with */
    weft__progress progress;
    uint64_t deadline_ns;     /* the whole call; 0 none */
    uint64_t task_timeout_ns; /* each task; 0 none */
    int watch_interrupts;     /* a top-level call: SIGINT cancels it */
    unsigned interrupts_seen;

    atomic_int stop;          /* set on the first failure or a cancellation */
    atomic_int failed;        /* claims the right to write `failure` */
    atomic_int failure_ready; /* set once `failure` is written; its index is the job's item */
    weft__failure failure;

    size_t served;     /* items the layer above dispatch served (progress counts them) */
    void *layer_state; /* that layer's, between its begin and end */
    int dispatched;    /* a backend was handed the job (submit ran or started it) */

    /* the trace (core/trace.c), set when a call starts while one records: this call's id,
     * and the call, item and thread (track) of the task that opened it */
    uint64_t trace_call, trace_parent;
    int64_t trace_opener_index;
    int trace_opener_tid;
    int trace_by_caller;                     /* 1: a worker process traces the batch around weft__job_run,
                            which traces tasks only; 2: neither */
    atomic_size_t trace_claimed, trace_done; /* items, for the counters */

    void *backend_data;  /* the backend's, between submit and finish */
    size_t cursor;       /* next item for backends that run a job inline */
    size_t inline_batch; /* and their current batch size */
    /* automatic batches start at batch_start (0: at one item), and batch_grown keeps the
     * size they grew to: an iterator's next chunk starts where its last one got, instead
     * of growing from one item again */
    size_t batch_start;
    atomic_size_t batch_grown;
};

/* Item j's index in the whole call: what weft_task_index says and errors name. */
static inline size_t weft__job_call_index(const weft__job *job, size_t j) {
    return job->call.begin + (job->call.index_of ? job->call.index_of[j] : j);
}

/* ---- the layer above dispatch. Memory (memory/dispatch_layer.c) registers it when a memory
 * is opened; core calls it only for calls whose options carry a memory, and includes
 * nothing of it. begin serves the items it holds (outputs, statuses and on_item as if
 * they had run) and may narrow the job (index_of, job->call.n down to 0); end, once no
 * backend holds the job, widens it back. */
typedef struct weft__dispatch_layer {
    int (*begin)(weft__job *job); /* 0, or a WEFT_E* code with the last error set */
    void (*end)(weft__job *job);
} weft__dispatch_layer;
void weft__set_dispatch_layer(const weft__dispatch_layer *layer);

/* weft_map over items [index_base, index_base + n) of a bigger map whose other items run
 * elsewhere (a wasm worker's batch): tasks see their index in the whole map. */
int weft__map_at(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
                 size_t n, void *outputs, size_t out_size, size_t index_base);

/* Prepare a described job to run on `pool` with `call` options (level, limits, progress,
 * flags). Returns 0 or a WEFT_E* code with the last error set. */
int weft__job_prepare(weft__job *job, weft_pool *pool, const weft_options *call, int quiet);
/* Prepare and run a described job to its end; 0, or the failure with the last error set. */
int weft__job_execute(weft__job *job, weft_pool *pool, const weft_options *call);
/* Run `job` as a part of `whole` (a layer above dispatch cutting a call into pieces):
 * its pool, level, deadline and Ctrl-C watch, with `call` options, reporting no progress.
 * As weft__job_execute. */
int weft__job_execute_part(weft__job *job, const weft__job *whole, const weft_options *call);
/* Hand `v` (malloc'd; taken over, *v emptied) to slot `index` of a BYTES call's outputs:
 * into its reused buffer when the call keeps them (caps, else NULL). 0 or WEFT_ENOMEM. */
int weft__take_output(weft_bytes *outs, size_t *caps, size_t index, weft_bytes *v);
/* Non-zero once the job must stop; notices a passed deadline or a Ctrl-C and stops it. */
int weft__job_check_stop(weft__job *job);
/* Once job->failed is set: its failure as this thread's last error, with the failing
 * item's index in the whole call (job->call.begin added). Returns the failure's code. */
int weft__job_failure_error(weft__job *job);
/* Stop the job with a failure not caused by one task (cancel, timeout): index -1. */
void weft__job_abort(weft__job *job, int code, const char *message);
/* Asynchronous running (backends without submit run synchronously in submit). */
int weft__job_submit(weft__job *job);
int weft__job_help(weft__job *job);
int weft__job_finish(weft__job *job);

/* The job whose task this thread is running, NULL outside any task; and that task's item
 * (the job's index j, valid only inside a task). */
weft__job *weft__current_job(void);
size_t weft__current_index(void);

/* ---- reducers.c: the ready-made reducers (weft_sum_i64 & co.), one row each: the name,
 * the 8-byte type its accumulator and the tasks' outputs hold, the identity, the fold.
 * Integer sums wrap, as unsigned arithmetic does; min and max pass over NaN outputs. */
static inline int64_t weft__add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
static inline int64_t weft__min_i64(int64_t a, int64_t b) { return b < a ? b : a; }
static inline int64_t weft__max_i64(int64_t a, int64_t b) { return b > a ? b : a; }
static inline double weft__add_f64(double a, double b) { return a + b; }
static inline double weft__min_f64(double a, double b) { return b < a ? b : a; }
static inline double weft__max_f64(double a, double b) { return b > a ? b : a; }
#define WEFT__REDUCERS(X)                         \
    X(sum_i64, i64, init_zero_i64, weft__add_i64) \
    X(min_i64, i64, init_max_i64, weft__min_i64)  \
    X(max_i64, i64, init_min_i64, weft__max_i64)  \
    X(sum_f64, f64, init_zero_f64, weft__add_f64) \
    X(min_f64, f64, init_inf_f64, weft__min_f64)  \
    X(max_f64, f64, init_neg_inf_f64, weft__max_f64)
/* How weft_reduce's loop folds: through the reducer's fold (CALL), or inline. */
typedef enum weft__fold_op {
    WEFT__FOLD_CALL,
#define WEFT__FOLD_ENUM(name, type, init, op) WEFT__FOLD_##name,
    WEFT__REDUCERS(WEFT__FOLD_ENUM)
#undef WEFT__FOLD_ENUM
} weft__fold_op;
/* Which one `r` is: a ready-made reducer, or a copy of one, is known by its fold. */
weft__fold_op weft__reducer_op(const weft_reducer *r);

/* ---- shared.c: the shared regions this process knows */
typedef struct weft__region {
    uint64_t id;
    int fd;
    size_t size;
} weft__region;
/* Allocate a region for `owner` (a pool's private scratch: only that pool's workers are
 * told of it) or for the user (NULL). *base receives its address here when base is set. */
int weft__shared_alloc(weft_shared *out, size_t size, const void *owner, void **base);
/* In a worker process: a region its parent made, mapped on first use; takes the fd. */
int weft__shared_adopt(uint64_t id, int fd, size_t size);
/* A region whose memory another layer owns (an MPI shared window): never released here.
 * WEFT_EINVAL when `id` is known already. */
int weft__shared_adopt_at(uint64_t id, void *base, size_t size);
/* Worker processes number their own regions from `base` so they never clash with the
 * parent's handles. */
void weft__shared_set_id_base(uint64_t base);
/* The region holding [p, p + len): 0 with its handle and the offset of p, or -1. */
int weft__shared_find(const void *p, size_t len, uint64_t *id, size_t *offset);
/* Changes whenever a region comes or goes, so a backend knows when to look again. */
uint64_t weft__shared_generation(void);
/* A malloc'd list of the regions `owner`'s workers should know: the user's and its own. */
weft__region *weft__shared_list(const void *owner, size_t *n);

/* ---- map.c */
/* 0, or WEFT_EINVAL with a message naming `call` when the task is NULL or has no function. */
int weft__check_task(const char *call, const weft_task_def *task);
/* weft__check_task, then inputs/outputs that are NULL where their size says there is
 * data, outputs given with out_size 0, and n * size overflows. 0 or WEFT_EINVAL. */
int weft__check_map_args(const char *call, const weft_task_def *task, const void *inputs,
                         size_t in_size, size_t n, const void *outputs, size_t out_size);

/* ---- pool.c */
/* Pick the pool (a NULL *pool becomes a default one) and the options a call runs with. */
int weft__pool_for_call(weft_pool **pool, weft_options *call);
struct weft_pool {
    const weft_backend *backend;
    weft_options options; /* resolved */
    int workers;
    void *state; /* backend's private state, allocated after this struct */
};
static inline const weft_backend *weft__pool_backend(const weft_pool *pool) { return pool->backend; }
static inline void *weft__pool_state(const weft_pool *pool) { return pool->state; }
/* An 8-byte accumulator or output, read whatever its alignment (the ready-made reducers:
 * core/reducers.c, and weft_reduce's loop in core/job.c). */
static inline int64_t weft__get_i64(const void *p) {
    int64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline double weft__get_f64(const void *p) {
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif
