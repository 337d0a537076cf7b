/* Running a job's items: the task context, retries, timeouts, output checks, and what
 * a failure does (stop the job, or be collected per task). */
#include "batching.h"
#include "internal.h"
#include "trace.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct weft_task {
    weft__task_head head; /* what weft.h's inline calls read: the index, the output slot */
    weft__job *job;
    const void *input;
    size_t input_size;
    weft_bytes *out_bytes;
    int worker;
    uint64_t deadline_ns; /* 0: no task timeout */
    char message[256];
};

/* The job whose task this thread is running, so a nested call knows its level and pool. */
static _Thread_local weft__job *current_job;
static _Thread_local const weft_task *current_task;
weft__job *weft__current_job(void) { return current_job; }
size_t weft__current_index(void) { return current_task ? current_task->head.index : 0; }

/* ---- limits that stop a whole job: cancellation, call timeout, Ctrl-C */

static void record_failure(weft__job *job, int code, int status, int64_t index,
                           const char *message) {
    /* the first failure wins; later ones are consequences (or races) and are dropped */
    if (atomic_exchange(&job->failed, 1) == 0) {
        job->failure.code = code;
        job->failure.status = status;
        job->failure.index = index;
        snprintf(job->failure.message, sizeof job->failure.message, "%s", message);
        atomic_store_explicit(&job->failure_ready, 1, memory_order_release);
    }
    atomic_store(&job->stop, 1);
}

void weft__job_abort(weft__job *job, int code, const char *message) {
    record_failure(job, code, 0, -1, message);
}

/* Non-zero once the job must stop; checks the call's deadline and Ctrl-C on the way. */
int weft__job_check_stop(weft__job *job) {
    if (atomic_load_explicit(&job->stop, memory_order_relaxed)) return 1;
    if (job->watch_interrupts && weft_plat_interrupt_count() != job->interrupts_seen) {
        weft__job_abort(job, WEFT_ECANCELED, "interrupted by SIGINT (Ctrl-C)");
        return 1;
    }
    if (job->deadline_ns && weft_plat_now_ns() > job->deadline_ns) {
        char msg[96];
        snprintf(msg, sizeof msg, "the call ran past its timeout of %.3g s", job->options.timeout_s);
        weft__job_abort(job, WEFT_ETIMEDOUT, msg);
        return 1;
    }
    return 0;
}

int weft__job_stopping(const weft__job *job) {
    return atomic_load_explicit(&job->stop, memory_order_relaxed);
}
size_t weft__job_size(const weft__job *job) { return job->call.n; }
int weft__job_batch_size(const weft__job *job) { return job->batch_size; }
size_t weft__job_batch_start(const weft__job *job) { return job->batch_start ? job->batch_start : 1; }
void weft__job_batch_grew(weft__job *job, size_t size) {
    /* read first: the line stays shared while the size holds */
    if (atomic_load_explicit(&job->batch_grown, memory_order_relaxed) != size)
        atomic_store_explicit(&job->batch_grown, size, memory_order_relaxed);
}

/* ---- the task's view */

const void *weft_input(const weft_task *t) { return t->input; }
size_t weft_input_size(const weft_task *t) { return t->input_size; }
/* An iterator runs its stream in chunks, a wasm worker a batch of a map: job->call.begin is
 * where this one starts. */
size_t(weft_task_index)(const weft_task *t) {
    return t->head.index + t->head.index_base;
}
int weft_worker_id(const weft_task *t) { return t->worker; }
int weft_nesting_level(const weft_task *t) { return t->job->level; }
int weft_task_cpus(const weft_task *t) { return weft__budget_task_cpus(t->job); }

int weft_cancelled(const weft_task *t) {
    if (weft__job_check_stop(t->job)) return 1;
    return t->deadline_ns && weft_plat_now_ns() > t->deadline_ns;
}

int weft_fail(weft_task *t, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->message, sizeof t->message, fmt, ap);
    va_end(ap);
    return WEFT_ETASK;
}

/* A variable-size output into slot `index` of `outs`: a fresh buffer, or the reused one of
 * capacity caps[index] (grown when too small) when the caller keeps buffers (caps set).
 * 0 or WEFT_ENOMEM. */
static int store_bytes(weft_bytes *outs, size_t *caps, size_t index, const void *data, size_t size) {
    weft_bytes *out = &outs[index];
    size_t *cap = caps ? &caps[index] : NULL;
    if (!cap || size > *cap || !out->data) {
        void *grown = cap ? realloc(out->data, size ? size : 1) : malloc(size ? size : 1);
        if (!grown) return WEFT_ENOMEM;
        out->data = grown;
        if (cap) *cap = size ? size : 1;
    }
    if (size) memcpy(out->data, data, size);
    out->size = size;
    return 0;
}

int weft__take_output(weft_bytes *outs, size_t *caps, size_t index, weft_bytes *v) {
    if (!caps) {
        outs[index] = *v; /* a fresh slot: weft_map_bytes zeroed it */
        *v = (weft_bytes){NULL, 0};
        return 0;
    }
    int rc = store_bytes(outs, caps, index, v->data, v->size);
    weft_bytes_free(v, 1);
    return rc;
}

/* weft_output's rarer paths, out of line so that the fixed-size path saves no registers. */
__attribute__((noinline, cold)) static int output_refused(weft_task *t, const void *data, size_t size) {
    if (t->head.written) return weft_fail(t, "weft_output called twice by one task"), WEFT_EINVAL;
    if (size > 0 && !data) return weft_fail(t, "weft_output: data is NULL"), WEFT_EINVAL;
    weft_fail(t, "weft_output got %zu bytes, the map's output size is %zu", size, t->job->call.out_size);
    return WEFT_EOUTSIZE;
}

__attribute__((noinline)) static int output_bytes(weft_task *t, const void *data, size_t size) {
    if (store_bytes(t->job->call.out_bytes, t->job->call.out_caps, t->head.index, data, size))
        return weft_fail(t, "out of memory for a %zu-byte output", size), WEFT_ENOMEM;
    t->head.written = 1;
    return 0;
}

/* Every other output: checked, then copied to the slot or the variable-size list. */
__attribute__((noinline)) static int output_checked(weft_task *t, const void *data, size_t size) {
    if (t->head.written || (size > 0 && !data)) return output_refused(t, data, size);
    if (t->out_bytes) return output_bytes(t, data, size);
    if (size != t->job->call.out_size) return output_refused(t, data, size);
    if (size) memcpy(t->head.output, data, size);
    t->head.written = 1;
    return 0;
}

int(weft_output)(weft_task *t, const void *data, size_t size) {
    /* the common case in a few instructions (no register saved): 8 bytes into the slot */
    if (__builtin_expect(size == 8 && t->head.output_size == 8 && data && !t->head.written, 1)) {
        memcpy(t->head.output, data, 8);
        t->head.written = 1;
        return 0;
    }
    return output_checked(t, data, size);
}

/* ---- one item */

static int judge(weft__job *job, weft_task *t, int rc, uint64_t start);

/* Run the task once and judge it: 0, or WEFT_ETASK / WEFT_EOUTSIZE / WEFT_ETIMEDOUT with
 * t->message saying why and *status what the task returned. */
static int attempt(weft__job *job, weft_task *t, int *status) {
    t->head.written = 0;
    t->message[0] = '\0';
    uint64_t start = job->task_timeout_ns ? weft_plat_now_ns() : 0;
    t->deadline_ns = start ? start + job->task_timeout_ns : 0;
    int rc = job->call.kind == WEFT__JOB_FOR ? job->call.body(job->call.begin + t->head.index, job->call.ctx) : job->call.task->fn(t);
    *status = rc;
    if (rc == 0 && t->head.written && !t->deadline_ns) return 0; /* the common case */
    return judge(job, t, rc, start);
}

/* The rest of attempt's verdict: a task timeout, a missing output, a failure's message. */
__attribute__((noinline)) static int judge(weft__job *job, weft_task *t, int rc, uint64_t start) {
    if (t->deadline_ns && weft_plat_now_ns() > t->deadline_ns) {
        snprintf(t->message, sizeof t->message, "task ran %.3g s, past its timeout of %.3g s",
                 (double)(weft_plat_now_ns() - start) * 1e-9, job->options.task_timeout_s);
        return WEFT_ETIMEDOUT;
    }
    if (rc == 0) {
        if (t->out_bytes && !t->head.written) return weft_output(t, NULL, 0);
        if (t->head.written || job->call.kind == WEFT__JOB_FOR || job->call.out_size == 0) return 0;
        if (t->message[0]) { /* weft_output refused the output (its size) and said why */
            char why[sizeof t->message];
            memcpy(why, t->message, sizeof why);
            snprintf(t->message, sizeof t->message, "task returned 0 without an output: %.200s", why);
        } else {
            snprintf(t->message, sizeof t->message,
                     "task returned 0 without calling weft_output (expected %zu bytes)", job->call.out_size);
        }
        return WEFT_EOUTSIZE;
    }
    if (!t->message[0]) {
        if (job->call.kind == WEFT__JOB_FOR)
            snprintf(t->message, sizeof t->message, "loop body returned %d at i = %zu", rc, job->call.begin + t->head.index);
        else
            snprintf(t->message, sizeof t->message, "task returned %d", rc);
    }
    return rc == WEFT_EOUTSIZE ? WEFT_EOUTSIZE : WEFT_ETASK;
}

/* An output buffer the call keeps (an iterator's, out_caps set) is the task's slot for an
 * output of the size it holds, which weft_output's inline path then fills; the item's
 * size says so beforehand, and the checked path (another size) sets it again. */
static void bytes_slot(const weft__job *job, weft_task *t, size_t i) {
    weft_bytes *out = &job->call.out_bytes[i];
    if (job->call.out_caps && out->data) {
        t->head.output = out->data;
        t->head.output_size = out->size = job->call.out_caps[i];
    } else {
        t->head.output_size = SIZE_MAX;
    }
}

/* Point t at BYTES item i: its input, its output and the slot for it. */
static inline void bytes_item(const weft__job *job, weft_task *t, size_t i) {
    t->head.index = i;
    t->input = job->call.in_bytes[i].data;
    t->input_size = job->call.in_bytes[i].size;
    t->out_bytes = &job->call.out_bytes[i];
    bytes_slot(job, t, i);
}

/* Forget a failed attempt's variable-size output (reused buffers stay allocated). */
static void drop_output(weft__job *job, weft_task *t) {
    if (!t->out_bytes || !t->head.written) return;
    if (job->call.out_caps)
        t->out_bytes->size = 0;
    else
        weft_bytes_free(t->out_bytes, 1);
}

/* Collect-all: item `index` failed; its status keeps a copy of the message. */
static void set_status(weft__job *job, size_t index, int code, int status, const char *message) {
    weft_status *s = &job->call.statuses[index];
    s->code = code;
    s->status = status;
    size_t len = strlen(message) + 1;
    s->message = malloc(len);
    if (s->message) memcpy(s->message, message, len);
}

static void trace_failure(const char *what, const weft__job *job, const weft_task *t, int code, int attempt) {
    char args[96];
    snprintf(args, sizeof args, "\"index\":%zu,\"code\":%d,\"attempt\":%d", weft__job_call_index(job, t->head.index),
             code, attempt);
    weft__trace_instant(what, "failure", args);
}

/* Item t->head.index failed with `code`: retry it as the options say; if it still fails,
 * collect or record the failure. Returns the final code (0 when a retry succeeded). */
__attribute__((noinline)) static int retry_or_fail(weft__job *job, weft_task *t, int code, int status) {
    uint64_t pause = (uint64_t)(job->options.retry_backoff_s * 1e9);
    for (int again = 0; code != 0 && again < job->options.retries && !weft__job_check_stop(job); again++) {
        if (weft__tracing) trace_failure("retry", job, t, code, again + 1);
        drop_output(job, t);
        if (t->out_bytes) bytes_slot(job, t, t->head.index); /* the slot again, for the retry */
        weft_plat_sleep_ns(pause);
        pause = pause < 60000000000ull ? pause * 2 : pause;
        code = attempt(job, t, &status);
    }
    if (code != 0) {
        if (weft__tracing) trace_failure("task failed", job, t, code, job->options.retries + 1);
        drop_output(job, t);
        if (job->call.statuses) {
            set_status(job, t->head.index, code, status, t->message);
        } else {
            record_failure(job, code, status, (int64_t)t->head.index, t->message);
        }
    }
    return code;
}

/* Run item t->head.index with its retries; report the outcome. 0 when it succeeded. A
 * call narrowed by a layer above dispatch (index_of: its items are not consecutive in
 * the call) runs its items here, each setting weft_task_index's base. */
static int run_item(weft__job *job, weft_task *t) {
    if (job->call.index_of) t->head.index_base = job->call.begin + job->call.index_of[t->head.index] - t->head.index;
    if (job->on_start) job->on_start(job, t->head.index);
    int status = 0, code = attempt(job, t, &status);
    if (code != 0) code = retry_or_fail(job, t, code, status);
    if (job->on_item) job->on_item(job, t->head.index, code, code ? t->message : NULL);
    return code;
}

static void skip_rest(weft__job *job, size_t i, size_t end) {
    if (!job->on_item) return;
    for (; i < end; i++) job->on_item(job, i, WEFT_ECANCELED, NULL);
}

/* A reduce item whose task did not simply return 0 with its output: judge it, retry it
 * as the options say, record its failure. 0 when it is to be folded after all. */
__attribute__((noinline)) static int settle(weft__job *job, weft_task *t, int rc) {
    int code = judge(job, t, rc, 0);
    return code ? retry_or_fail(job, t, code, rc) : 0;
}

/* fold_range's loop when nothing watches the items (no hooks, task timeouts or call
 * deadline: the usual case): a task call and a fold per item, and nothing else. `op` is a
 * constant in each copy fold_range makes, so a ready-made reducer's fold is one operation
 * on an accumulator held in a register, not a call that loads and stores it. */
static inline __attribute__((always_inline)) void fold_quiet(weft__job *job, weft_task *t, size_t lo, size_t hi,
                                                             void *acc, const void *scratch, weft__fold_op op) {
    const weft_reducer *r = job->call.reducer;
    void (*fold)(void *, const void *, size_t, void *) = r->fold;
    void *user = r->user;
    int (*fn)(weft_task *) = job->call.task->fn;
    const unsigned char *inputs = job->call.inputs;
    size_t in_size = job->call.in_size, out_size = job->call.out_size;
    int64_t a_i64 = op == WEFT__FOLD_CALL ? 0 : weft__get_i64(acc);
    double a_f64 = op == WEFT__FOLD_CALL ? 0 : weft__get_f64(acc);
    t->deadline_ns = 0;
    for (size_t i = lo; i < hi; i++) {
        t->head.index = i;
        t->input = inputs + i * in_size;
        t->head.written = 0;
        t->message[0] = '\0';
        int rc = fn(t);
        if (__builtin_expect(rc == 0 && t->head.written, 1) || settle(job, t, rc) == 0) {
            switch (op) {
            case WEFT__FOLD_CALL:
                fold(acc, scratch, out_size, user);
                break;
#define FOLD_INLINE(name, type, init, f)                   \
    case WEFT__FOLD_##name:                                \
        a_##type = f(a_##type, weft__get_##type(scratch)); \
        break;
                WEFT__REDUCERS(FOLD_INLINE)
#undef FOLD_INLINE
            }
        } else if (weft__job_check_stop(job)) {
            break;
        }
    }
    switch (op) {
    case WEFT__FOLD_CALL:
        break;
#define STORE_ACC(name, type, init, f)           \
    case WEFT__FOLD_##name:                      \
        memcpy(acc, &a_##type, sizeof a_##type); \
        break;
        WEFT__REDUCERS(STORE_ACC)
#undef STORE_ACC
    }
}

/* Run item t->head.index when nothing watches it (no on_start hook, no task timeout): the
 * task call; the verdict, retries and failures go out of line (settle). */
static inline int attempt_quiet(weft__job *job, weft_task *t, int (*fn)(weft_task *)) {
    t->head.written = 0;
    t->message[0] = '\0';
    int rc = fn(t);
    return __builtin_expect(rc == 0 && t->head.written, 1) ? 0 : settle(job, t, rc);
}

/* attempt_quiet, then the item's report. */
static inline int run_quiet(weft__job *job, weft_task *t, int (*fn)(weft_task *)) {
    int code = attempt_quiet(job, t, fn);
    if (job->on_item) job->on_item(job, t->head.index, code, code ? t->message : NULL);
    return code;
}

/* BYTES items [i, end) for a watcher that takes successes as runs (on_run), nothing
 * watching single items: no call per item that succeeds. Returns where it stopped. */
static size_t run_bytes_in_runs(weft__job *job, weft_task *t, size_t i, size_t end, int (*fn)(weft_task *)) {
    size_t from = i; /* the run not reported yet: [from, i) */
    for (int stopped = 0; i < end && !stopped;) {
        bytes_item(job, t, i);
        int code = attempt_quiet(job, t, fn);
        i++;
        if (code != 0) {
            if (from < i - 1) job->on_run(job, from, i - 1);
            job->on_item(job, i - 1, code, t->message);
            from = i;
        } else if (atomic_load_explicit(job->eager, memory_order_relaxed)) {
            job->on_run(job, from, i);
            from = i;
        }
        if (code != 0 || job->deadline_ns) stopped = weft__job_check_stop(job);
    }
    if (from < i) job->on_run(job, from, i);
    return i;
}

/* REDUCE: run tasks [lo, hi) in order, folding each output (through `scratch`) into
 * `acc`. Limits are checked as a map's are: once per range, after a failure, and per
 * item only when the call has a deadline. */
static void fold_range(weft__job *job, weft_task *t, size_t lo, size_t hi, void *acc, void *scratch) {
    const weft_reducer *r = job->call.reducer;
    t->input_size = job->call.in_size;
    t->head.output = scratch;
    if (weft__job_check_stop(job)) return;
    if (!job->on_start && !job->on_item && !job->task_timeout_ns && !job->deadline_ns && !job->call.index_of) {
        switch (weft__reducer_op(r)) {
        case WEFT__FOLD_CALL:
            fold_quiet(job, t, lo, hi, acc, scratch, WEFT__FOLD_CALL);
            return;
#define FOLD_QUIET(name, type, init, f)                              \
    case WEFT__FOLD_##name:                                          \
        fold_quiet(job, t, lo, hi, acc, scratch, WEFT__FOLD_##name); \
        return;
            WEFT__REDUCERS(FOLD_QUIET)
#undef FOLD_QUIET
        }
    }
    int stopped = 0;
    for (size_t i = lo; i < hi && !stopped; i++) {
        t->head.index = i;
        t->input = job->call.inputs + i * job->call.in_size;
        int code = run_item(job, t);
        if (code == 0) r->fold(acc, scratch, job->call.out_size, r->user);
        if (code != 0 || job->deadline_ns) stopped = weft__job_check_stop(job);
    }
}

static void run_reduce(weft__job *job, weft_task *t, size_t begin, size_t end, int worker) {
    unsigned char small[256];
    void *scratch = job->call.out_size <= sizeof small ? small : malloc(job->call.out_size);
    if (!scratch) {
        weft__job_abort(job, WEFT_ENOMEM, "out of memory for a task output");
        return;
    }
    if (job->call.chunked) {
        for (size_t c = begin; c < end && !weft__job_check_stop(job); c++)
            fold_range(job, t, job->call.n_tasks * c / job->call.n, job->call.n_tasks * (c + 1) / job->call.n,
                       job->call.accs + c * job->call.acc_stride, scratch);
    } else {
        fold_range(job, t, begin, end, job->call.accs + (size_t)worker * job->call.acc_stride, scratch);
    }
    if (scratch != small) free(scratch);
}

static int layered(const weft__job *job);

/* Items [begin, end): returns where it stopped (end, or the first item not run). */
static size_t run_items(weft__job *job, weft_task *t, size_t begin, size_t end, int worker) {
    size_t i = begin;
    /* limits are checked per batch; a task polls them itself through weft_cancelled */
    int stopped = weft__job_check_stop(job);
    /* the usual case, nothing watching single items, consecutive items: run_quiet
     * instead of run_item */
    int (*quiet)(weft_task *) = job->on_start || job->task_timeout_ns || job->call.index_of || job->call.kind == WEFT__JOB_FOR ? NULL : job->call.task->fn;
    t->deadline_ns = 0;
    switch (job->call.kind) {
    case WEFT__JOB_MAP:
        for (; i < end && !stopped; i++) {
            t->head.index = i;
            t->input = job->call.inputs + i * job->call.in_size;
            t->input_size = job->call.in_size;
            t->head.output = job->call.outputs + i * job->call.out_size;
            if ((quiet ? run_quiet(job, t, quiet) : run_item(job, t)) != 0 || job->deadline_ns)
                stopped = weft__job_check_stop(job);
        }
        break;
    case WEFT__JOB_BYTES:
        if (quiet && job->on_run && !layered(job) && !stopped) {
            i = run_bytes_in_runs(job, t, i, end, quiet);
            break;
        }
        for (; i < end && !stopped; i++) {
            bytes_item(job, t, i);
            if ((quiet ? run_quiet(job, t, quiet) : run_item(job, t)) != 0 || job->deadline_ns)
                stopped = weft__job_check_stop(job);
        }
        break;
    case WEFT__JOB_FOR:
        for (; i < end && !stopped; i++) {
            t->head.index = i;
            if (run_item(job, t) != 0 || job->deadline_ns) stopped = weft__job_check_stop(job);
        }
        break;
    case WEFT__JOB_REDUCE:
        run_reduce(job, t, begin, end, worker);
        i = end; /* a reduction reports no items one by one */
        break;
    }
    return i;
}

/* The same, traced: a slice for the batch, and one per task when the batch is small. */
static size_t run_traced(weft__job *job, weft_task *t, size_t begin, size_t end, int worker) {
    atomic_fetch_add_explicit(&job->trace_claimed, end - begin, memory_order_relaxed);
    uint64_t t0 = weft_plat_now_ns();
    size_t i = begin;
    if (job->trace_by_caller == 2) return run_items(job, t, begin, end, worker);
    if (end - begin <= WEFT__TRACE_SMALL_BATCH && job->call.kind != WEFT__JOB_REDUCE) {
        while (i < end) {
            uint64_t s = weft_plat_now_ns();
            size_t to = run_items(job, t, i, i + 1, worker);
            if (to == i) break; /* stopped before it */
            int code = job->call.statuses                                              ? job->call.statuses[i].code
                       : atomic_load(&job->failed) && job->failure.index == (int64_t)i ? job->failure.code
                                                                                       : 0;
            weft__trace_task(job, i, s, weft_plat_now_ns(), code);
            i = to;
        }
    } else {
        i = run_items(job, t, begin, end, worker);
    }
    if (!job->trace_by_caller) weft__trace_batch(job, begin, end, t0, weft_plat_now_ns());
    return i;
}

size_t weft__job_run(weft__job *job, size_t begin, size_t end, int worker) {
    weft_task t;
    t.job = job;
    t.head.index_base = job->call.begin; /* a narrowed call's items set their own (run_item) */
    t.worker = worker;
    t.out_bytes = NULL;
    t.head.output_size = job->call.kind == WEFT__JOB_MAP || job->call.kind == WEFT__JOB_REDUCE ? job->call.out_size : SIZE_MAX;
    t.head.output = NULL;
    t.head.index = begin;
    weft__job *outer = current_job;
    const weft_task *outer_task = current_task;
    current_job = job;
    current_task = &t;
    /* the one branch a trace costs when none records */
    size_t i = weft__tracing ? run_traced(job, &t, begin, end, worker) : run_items(job, &t, begin, end, worker);
    skip_rest(job, i, end);
    if (job->on_batch) job->on_batch(job);
    current_job = outer;
    current_task = outer_task;
    return end - begin; /* skipped items count as gone through */
}

size_t weft__job_run_next(weft__job *job, int worker) {
    size_t begin = job->cursor, left = job->call.n - begin;
    size_t count = (size_t)job->batch_size;
    if (count == 0) count = job->inline_batch; /* from 1 (weft__job_prepare) */
    if (count > left) count = left;
    if (count == 0) return 0;
    job->cursor = begin + count;
    uint64_t t0 = weft_plat_now_ns();
    weft__job_run(job, begin, begin + count, worker);
    if (!job->batch_size && count == job->inline_batch) {
        job->inline_batch = weft__batch_next(job->inline_batch, weft_plat_now_ns() - t0);
        weft__job_batch_grew(job, job->inline_batch);
    }
    weft__job_progress(job, begin + count);
    return count;
}

/* ---- progress */

int weft__job_progress_due(const weft__job *job) { return weft__progress_due(&job->progress); }

void weft__job_progress(weft__job *job, size_t done) {
    if (!weft__progress_due(&job->progress)) return;
    if (weft__progress_update(&job->progress, job->served + done))
        weft__job_abort(job, WEFT_ECANCELED, "cancelled by the progress callback");
}

/* ---- setting a job up and running it through its pool's backend */

int weft__job_prepare(weft__job *job, weft_pool *pool, const weft_options *call, int quiet) {
    const weft_backend *b = weft__pool_backend(pool);
    /* a loop body writes into the caller's memory, which other processes do not share:
     * weft_for stays refused there (weft_map with outputs, or a weft_shared region, is the
     * way to go) */
    if (job->call.kind == WEFT__JOB_FOR && !(b->caps & WEFT_CAP_SHARED_MEMORY))
        return weft__set_error(WEFT_ENOSYS, "weft_for needs shared memory; backend '%s' has none (use weft_map)", b->name);
    /* a reducer's functions exist in worker processes (the same program), its user data
     * only where it lies in a shared region */
    uint64_t region;
    size_t offset;
    if (job->call.kind == WEFT__JOB_REDUCE && !(b->caps & WEFT_CAP_SHARED_MEMORY) && job->call.reducer->user &&
        weft__shared_find(job->call.reducer->user, 1, &region, &offset) != 0)
        return weft__set_error(WEFT_EINVAL, "weft_reduce on backend '%s': reducer.user points to this "
                                            "process's memory, which its worker processes cannot see (put it in a "
                                            "weft_shared region, or pass NULL)",
                               b->name);
    weft__job *outer = weft__current_job();
    job->level = outer ? outer->level + 1 : 0;
    job->pool = pool;
    job->options = *call;
    job->batch_size = call->batch_size;
    job->task_timeout_ns = (uint64_t)(call->task_timeout_s * 1e9);
    job->deadline_ns = call->timeout_s > 0 ? weft_plat_now_ns() + (uint64_t)(call->timeout_s * 1e9) : 0;
    /* an inner call inherits the outer call's deadline: it cannot outlive it */
    if (outer && outer->deadline_ns && (!job->deadline_ns || outer->deadline_ns < job->deadline_ns))
        job->deadline_ns = outer->deadline_ns;
    job->watch_interrupts = !outer;
    job->interrupts_seen = weft_plat_interrupt_count();
    job->cpus = 0;
    job->cursor = 0;
    job->inline_batch = weft__job_batch_start(job);
    atomic_init(&job->batch_grown, 0);
    weft__trace_from_env();
    job->trace_call = job->trace_parent = 0;
    job->trace_opener_tid = job->trace_by_caller = 0;
    if (weft__tracing) weft__trace_call_begin(job);
    job->backend_data = NULL;
    atomic_init(&job->stop, 0);
    atomic_init(&job->failed, 0);
    atomic_init(&job->failure_ready, 0);
    /* nested calls report nothing: the outer call's progress already covers them */
    weft_options shown = *call;
    if (outer || quiet) shown.verbose = 0, shown.progress = NULL;
    weft__progress_begin(&job->progress, &shown, job->call.n);
    return 0;
}

/* ---- the layer above dispatch */

static const weft__dispatch_layer *dispatch_layer;
void weft__set_dispatch_layer(const weft__dispatch_layer *layer) { dispatch_layer = layer; }

static int layered(const weft__job *job) { return job->options.memory && dispatch_layer; }

/* Before a backend sees the job: the layer serves what it can and narrows the rest. */
static int layer_begin(weft__job *job) {
    job->call.index_of = NULL;
    job->served = 0;
    job->layer_state = NULL;
    job->dispatched = 0;
    return layered(job) ? dispatch_layer->begin(job) : 0;
}

static void layer_end(weft__job *job) {
    if (layered(job)) dispatch_layer->end(job);
}

int weft__job_submit(weft__job *job) {
    int rc = layer_begin(job);
    if (rc || job->call.n == 0) return rc; /* all served: no backend is needed */
    const weft_backend *b = weft__pool_backend(job->pool);
    void *state = weft__pool_state(job->pool);
    if (job->watch_interrupts) weft_plat_interrupt_begin();
    job->dispatched = 1;
    return b->submit ? b->submit(state, job) : b->run(state, job);
}

int weft__job_help(weft__job *job) {
    const weft_backend *b = weft__pool_backend(job->pool);
    if (!job->dispatched) return 0;
    return b->help ? b->help(weft__pool_state(job->pool), job) : 0;
}

int weft__job_finish(weft__job *job) {
    const weft_backend *b = weft__pool_backend(job->pool);
    int rc = 0;
    if (job->dispatched) {
        rc = b->finish ? b->finish(weft__pool_state(job->pool), job) : 0;
        if (job->watch_interrupts) weft_plat_interrupt_end();
        job->dispatched = 0;
    }
    layer_end(job);
    return rc;
}

int weft__job_failure_error(weft__job *job) {
    /* the thread that claimed the failure may still be writing it */
    while (!atomic_load_explicit(&job->failure_ready, memory_order_acquire)) weft_plat_cpu_relax();
    weft__failure f = job->failure;
    if (f.index >= 0) f.index = (int64_t)weft__job_call_index(job, (size_t)f.index);
    return weft__set_task_error(&f, job->call.task ? job->call.task->name : "");
}

/* Run a prepared job to its end through the layer and the backend. */
static int run_prepared(weft__job *job) {
    const weft_backend *b = weft__pool_backend(job->pool);
    uint64_t traced = job->trace_call ? weft_plat_now_ns() : 0;
    int rc = layer_begin(job);
    if (rc) return rc;
    if (job->call.n) {
        if (job->watch_interrupts) weft_plat_interrupt_begin();
        job->dispatched = 1;
        rc = b->run(weft__pool_state(job->pool), job);
        job->dispatched = 0;
        if (job->watch_interrupts) weft_plat_interrupt_end();
    }
    layer_end(job);
    if (traced && weft__tracing) weft__trace_call_end(job, traced);
    weft__progress_end(&job->progress, job->call.n);
    if (rc) return weft__set_error(rc, "backend '%s' failed to run the job", b->name);
    if (atomic_load(&job->failed)) return weft__job_failure_error(job);
    weft__clear_error();
    return 0;
}

int weft__job_execute(weft__job *job, weft_pool *pool, const weft_options *call) {
    int rc = weft__job_prepare(job, pool, call, 0);
    return rc ? rc : run_prepared(job);
}

int weft__job_execute_part(weft__job *job, const weft__job *whole, const weft_options *call) {
    int rc = weft__job_prepare(job, whole->pool, call, 1);
    if (rc) return rc;
    job->level = whole->level;
    job->deadline_ns = whole->deadline_ns;
    job->watch_interrupts = whole->watch_interrupts;
    job->interrupts_seen = whole->interrupts_seen;
    return run_prepared(job);
}

void weft__job_finish_remote(weft__job *job, size_t index, int code, int status, const void *out,
                             size_t size, const char *message) {
    char why[128];
    if (code == 0 && job->call.kind == WEFT__JOB_BYTES && store_bytes(job->call.out_bytes, job->call.out_caps, index, out, size)) {
        code = WEFT_ENOMEM;
        message = "out of memory for a task's output";
    } else if (code == 0 && job->call.kind == WEFT__JOB_MAP) {
        if (size != job->call.out_size) {
            snprintf(why, sizeof why, "weft_output got %zu bytes, the map's output size is %zu",
                     size, job->call.out_size);
            code = status = WEFT_EOUTSIZE;
            message = why;
        } else if (size) {
            memcpy(job->call.outputs + index * job->call.out_size, out, size);
        }
    }
    if (code != 0) {
        if (!message) message = weft_strerror(code);
        if (job->call.statuses)
            set_status(job, index, code, status, message);
        else
            record_failure(job, code, status, (int64_t)index, message);
    }
    if (job->on_item) job->on_item(job, index, code, code ? message : NULL);
}

void weft__job_finish_remote_run(weft__job *job, size_t begin, size_t n, const unsigned char *ok, const void *outs) {
    size_t size = job->call.out_size;
    const unsigned char *o = outs;
    if (!job->on_item && !memchr(ok, 0, n)) {
        if (n && size) memcpy(job->call.outputs + begin * size, o, n * size);
        return;
    }
    for (size_t k = 0; k < n; k++)
        if (ok[k]) weft__job_finish_remote(job, begin + k, 0, 0, o + k * size, size, NULL);
}
