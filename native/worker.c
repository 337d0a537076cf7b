/* A worker process: receives calls and batches from its pool, runs the tasks against
 * shared memory, answers with how each batch went. Everything a task sees (input, output
 * slot, index, worker id, nesting level, cancellation) comes from a weft__job living in
 * the control page the parent also maps, so the core's own weft__job_run runs the items. */
#define _GNU_SOURCE
#include "native.h"
#include "../core/trace.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#define SPIN_NS 50000u
/* how often a sleeping worker asks its socket whether the pool is still there */
#define ALIVE_CHECK_MS 100

typedef struct worker {
    weft__worker_args args;
    weft__wire wire;
    weft__ctrl *ctrl;
    weft__job *job;
    int have_job; /* 1: a call to run; 2: a call whose task is missing here */
    int failure_sent;
    int timeout_ms;         /* the call's task timeout: stamp each item's start only then */
    int missing_code;       /* why a call cannot run here (with have_job == 2) */
    weft_pool *nested;      /* the pool a task's own weft_map(NULL, ...) calls use */
    const wire_item *items; /* BYTES: where each input sits */
    unsigned char *bytes_base;
    weft_bytes *in_bytes, *out_bytes; /* BYTES: n entries each, filled per batch */
    size_t bytes_n;
    weft_status *statuses; /* collect-all: n entries, sent and cleared per batch */
    weft_reducer reducer;  /* REDUCE: fold and user as they are in this process */
    int must_flush;        /* replies buffered that a crash must not lose (see run_batch) */
    int report_each;       /* wire_job.report_each */
    /* retries: one budget per task across worker deaths (see note_task) */
    weft_task_def counted; /* the task, its fn counting attempts in ctrl->attempts */
    weft_task_fn task_fn;
    int retries;
    uint64_t spent_task; /* from the batch running now */
    uint32_t spent;
    uint64_t trace_call;   /* the parent's id of the next call, while it traces */
    char trace_part[4096]; /* the part file it records into */
} worker;

static worker *self; /* for the on_start hook */

/* The process's share of the CPU budget (core/budget.c), so that W workers running
 * OpenMP or BLAS code start W * share threads, not W * CPUs (what loky does for Python).
 * The runtimes already loaded have read their variables, so they are also told directly. */
static void set_runtime_var(const char *name, const char *value) {
    static const char *const setters[][2] = {{"OMP_NUM_THREADS", "omp_set_num_threads"},
                                             {"OPENBLAS_NUM_THREADS", "openblas_set_num_threads"},
                                             {"MKL_NUM_THREADS", "MKL_Set_Num_Threads"},
                                             {"BLIS_NUM_THREADS", "bli_thread_set_num_threads"}};
    setenv(name, value, 1);
    for (size_t i = 0; i < sizeof setters / sizeof setters[0]; i++) {
        if (strcmp(name, setters[i][0]) != 0) continue;
        void (*set)(int);
        void *sym = dlsym(RTLD_DEFAULT, setters[i][1]);
        memcpy(&set, &sym, sizeof set);
        if (set) set(atoi(value));
    }
}

/* Non-zero when [p, p + n) can be read: a write() from it fails with EFAULT otherwise. */
static int readable(const void *p, size_t n) {
    static int probe[2] = {-1, -1};
    if (probe[0] < 0 && pipe2(probe, O_CLOEXEC | O_NONBLOCK) != 0) return 0;
    ssize_t k = write(probe[1], p, n);
    char sink[256];
    while (read(probe[0], sink, sizeof sink) > 0) {
    }
    return k == (ssize_t)n;
}

/* Tasks found at the parent's address, remembered: every task of a program's own file is
 * one (its constructor runs after weft's, which forked the fork server), and probing an
 * address costs four system calls, more than a whole round trip where both sides spin.
 * What was readable here stays so: nothing in a worker unmaps its image. */
#define PROBED_MAX 64
static const weft_task_def *probed[PROBED_MAX];
static int n_probed, next_probed;

/* By name; a task registered after the fork server was forked (a constructor that ran
 * after weft's) is found at the parent's address, which holds the same image here. */
static const weft_task_def *find_task(const char *name, uint64_t addr) {
    const weft_task_def *def = weft_task_find(name);
    if (def) return def;
    const weft_task_def *there = (const weft_task_def *)(uintptr_t)addr;
    for (int i = 0; i < n_probed; i++)
        if (probed[i] == there && strcmp(there->name, name) == 0) return there;
    size_t len = strlen(name) + 1;
    if (!there || !readable(there, sizeof *there) || !there->name || !readable(there->name, len) ||
        memcmp(there->name, name, len) != 0 || !there->fn)
        return NULL;
    probed[next_probed] = there; /* the oldest goes when full */
    next_probed = (next_probed + 1) % PROBED_MAX;
    if (n_probed < PROBED_MAX) n_probed++;
    return there;
}

static void *region_at(uint64_t id, uint64_t offset) {
    if (!id) return NULL;
    weft_shared h = {id};
    unsigned char *base = weft_shared_ptr(h);
    return base ? base + offset : NULL;
}

static void send_failure(worker *w, wire_done *d, int code, int status, uint64_t index,
                         const char *message) {
    d->failed = 1;
    d->code = code;
    d->status = status;
    d->index = index;
    weft__wire_put(&w->wire, WIRE_DONE, d, sizeof *d, message, strlen(message) + 1);
}

static void drop_bytes(worker *w) {
    if (w->out_bytes) weft_bytes_free(w->out_bytes, w->bytes_n);
    free(w->in_bytes);
    free(w->out_bytes);
    w->in_bytes = w->out_bytes = NULL;
    w->bytes_n = 0;
    free(w->statuses); /* their messages went out with each batch */
    w->statuses = NULL;
}

/* Name each task as it starts (a chunked reduction runs many per item), so that a crash
 * or a timeout blames the task, and a timeout counts from the task's start. Its attempts
 * are counted in the control page, so that when the worker dies the pool knows how many
 * it used; a task retried after a death gets only the retries its earlier workers left. */
static void note_task(weft__job *job, size_t index) {
    int spent = index == self->spent_task ? (int)self->spent : 0;
    job->options.retries = self->retries > spent ? self->retries - spent : 0;
    atomic_store_explicit(&self->ctrl->attempts, 0, memory_order_relaxed);
    if (self->timeout_ms > 0)
        atomic_store_explicit(&self->ctrl->started_ns, weft_plat_now_ns(), memory_order_relaxed);
    atomic_store_explicit(&self->ctrl->task, index, memory_order_release);
}

static int counted_attempt(weft_task *t) {
    atomic_fetch_add_explicit(&self->ctrl->attempts, 1, memory_order_relaxed);
    return self->task_fn(t);
}

/* A function pointer from the parent is the same function here (the same program, forked
 * as loaded) if it lies in a loaded image; anything else (code made at run time, a library
 * loaded after the workers were forked) is refused instead of called. */
static int in_image(uint64_t addr) {
    Dl_info info;
    return addr && dladdr((void *)(uintptr_t)addr, &info) != 0 && info.dli_fbase;
}

/* REDUCE: the accumulators and the reducer; 0, or why the call cannot run here. */
static int start_reduce(worker *w, const wire_job *j) {
    weft__job *job = w->job;
    job->call.chunked = (int)j->chunked;
    job->call.n_tasks = j->n_tasks;
    job->call.acc_stride = j->acc_stride;
    job->call.accs = region_at(j->acc_region, j->acc_offset);
    memset(&w->reducer, 0, sizeof w->reducer);
    job->call.reducer = &w->reducer;
    if (!in_image(j->fold_addr)) {
        snprintf(job->failure.message, sizeof job->failure.message,
                 "the reducer's fold function is not part of the program the worker processes run "
                 "(made at run time, or in a library loaded later): use a backend with shared memory");
        return WEFT_EINVAL;
    }
    void *fold = (void *)(uintptr_t)j->fold_addr;
    memcpy(&w->reducer.fold, &fold, sizeof fold);
    w->reducer.user = j->user_region ? region_at(j->user_region, j->user_offset) : NULL;
    if (!job->call.accs || (j->user_region && !w->reducer.user)) {
        snprintf(job->failure.message, sizeof job->failure.message,
                 "a worker process could not map the reduction's shared memory");
        return WEFT_ESYS;
    }
    return 0;
}

static void start_job(worker *w, const unsigned char *p, size_t len) {
    wire_job j;
    memcpy(&j, p, sizeof j);
    char name[128];
    size_t name_len = len - sizeof j < sizeof name - 1 ? len - sizeof j : sizeof name - 1;
    memcpy(name, p + sizeof j, name_len);
    name[name_len] = '\0';
    drop_bytes(w);
    weft__job *job = w->job;
    /* job.stop belongs to the parent from here on: it cleared it before sending this
       call, and may have set it already (another worker's task failed) */
    int stop = atomic_load(&job->stop);
    memset(job, 0, sizeof *job);
    job->call.kind = (weft__job_kind)j.kind;
    job->call.n = j.n;
    const weft_task_def *def = find_task(name, j.task_addr);
    if (def) {
        w->counted = *def;
        w->task_fn = def->fn;
        w->counted.fn = counted_attempt;
        job->call.task = &w->counted;
    }
    job->on_start = note_task;
    job->trace_call = w->trace_call;
    job->call.in_size = j.in_size;
    job->call.out_size = j.out_size;
    job->level = (int)j.level;
    job->call.begin = j.base;
    job->call.index_of = j.indexed ? (const size_t *)region_at(j.idx_region, j.idx_offset) : NULL;
    job->pool = w->nested;
    job->cpus = w->args.share; /* one task at a time here: the whole share is its */
    weft_options_init(&job->options);
    job->options.backend = weft_pool_backend(w->nested);
    job->options.n_jobs = weft_pool_n_jobs(w->nested);
    job->options.batch_size = 0;
    job->options.verbose = 0;
    job->options.task_timeout_s = 0; /* the parent watches the clock and kills */
    job->options.timeout_s = 0;
    job->options.retries = w->retries = j.retries > 0 ? j.retries : 0;
    job->options.retry_backoff_s = j.retry_backoff_s > 0 ? j.retry_backoff_s : 0;
    job->options.shared_threshold = 1 << 20;
    atomic_init(&job->stop, stop);
    atomic_init(&job->failed, 0);
    if (j.collect) {
        w->statuses = calloc(j.n ? j.n : 1, sizeof *w->statuses); /* pages only as touched */
        job->call.statuses = w->statuses;
    }
    if (job->call.kind != WEFT__JOB_BYTES) {
        job->call.inputs = region_at(j.in_region, j.in_offset);
        job->call.outputs = region_at(j.out_region, j.out_offset);
    } else {
        unsigned char *base = region_at(j.in_region, j.in_offset);
        w->items = (const wire_item *)base;
        w->bytes_base = base;
        w->in_bytes = calloc(j.n ? j.n : 1, sizeof *w->in_bytes);
        w->out_bytes = calloc(j.n ? j.n : 1, sizeof *w->out_bytes);
        w->bytes_n = j.n;
        job->call.in_bytes = w->in_bytes;
        job->call.out_bytes = w->out_bytes;
    }
    w->have_job = 1;
    w->failure_sent = 0;
    w->timeout_ms = j.timeout_ms;
    w->report_each = (int)j.report_each;
    w->missing_code = 0;
    if (!job->call.task) {
        w->missing_code = WEFT_ENOTASK;
        snprintf(job->failure.message, sizeof job->failure.message,
                 "task '%.64s' is not registered in the worker processes (register it with "
                 "WEFT_TASK in the program, so that it exists before main)",
                 name);
    } else if ((j.collect && !w->statuses) || (job->call.kind == WEFT__JOB_BYTES && (!w->in_bytes || !w->out_bytes))) {
        w->missing_code = WEFT_ENOMEM;
        snprintf(job->failure.message, sizeof job->failure.message, "a worker process ran out of memory for a call of %llu items",
                 (unsigned long long)j.n);
    } else if (job->call.kind == WEFT__JOB_REDUCE && (w->missing_code = start_reduce(w, &j)) != 0) {
        /* start_reduce said why */
    } else if ((j.in_region && !(job->call.kind != WEFT__JOB_BYTES ? (const void *)job->call.inputs : (const void *)w->items)) ||
               (j.out_region && !job->call.outputs)) {
        w->missing_code = WEFT_ESYS;
        snprintf(job->failure.message, sizeof job->failure.message,
                 "a worker process could not map the call's shared memory (errno %d)", errno);
    }
    if (w->missing_code) w->have_job = 2; /* every batch fails with the same reason */
}

/* Item k ran: its status (collect-all) or its output (BYTES) goes back; `ok`: it did
 * not carry the job's failure. Frees what the item left here. */
static void report_item(worker *w, uint64_t k, int ok) {
    weft__job *job = w->job;
    weft_status *s = w->statuses ? &w->statuses[k] : NULL;
    if (s && s->code) {
        wire_status ws = {k, s->code, s->status};
        const char *message = s->message ? s->message : weft_strerror(s->code);
        weft__wire_put(&w->wire, WIRE_STATUS, &ws, sizeof ws, message, strlen(message) + 1);
        w->must_flush = 1;
        free(s->message);
        s->message = NULL;
    } else if (job->call.kind == WEFT__JOB_BYTES && ok) {
        weft__wire_put(&w->wire, WIRE_OUTPUT, &k, sizeof k, w->out_bytes[k].data, w->out_bytes[k].size);
    }
    if (s) s->code = 0;
    if (job->call.kind == WEFT__JOB_BYTES) {
        free(w->out_bytes[k].data);
        w->out_bytes[k].data = NULL;
    }
}

static void run_batch(worker *w, const unsigned char *p) {
    wire_batch b;
    memcpy(&b, p, sizeof b);
    weft__job *job = w->job;
    /* Replies wait in the buffer while a burst of batches runs; if the next batch crashes
     * they are lost and the pool runs those batches again. That is harmless for outputs,
     * not for a reduction's folds (they would count twice) nor for a failure or a status
     * (the retry could succeed and hide it): those go out before the next batch runs.
     * When a death does not end the call (report_each), everything does, and BYTES
     * outputs and statuses go out item by item: a crash then re-runs only the item it hit. */
    if ((w->must_flush || w->report_each) && w->wire.out_len && weft__wire_flush(&w->wire) != 0) _exit(0);
    w->must_flush = 0;
    int each_item = w->report_each && (job->call.kind == WEFT__JOB_BYTES || w->statuses);
    w->spent_task = b.spent_task;
    w->spent = b.spent;
    if (w->have_job == 2) {
        wire_done d = {.begin = b.begin, .end = b.end, .ran_to = b.begin};
        if (!w->failure_sent) {
            w->failure_sent = 1;
            d.ran_to = b.begin + 1;
            send_failure(w, &d, w->missing_code, 0, b.begin, job->failure.message);
        } else {
            weft__wire_put(&w->wire, WIRE_DONE, &d, sizeof d, NULL, 0);
        }
        return;
    }
    int timed = w->timeout_ms > 0;
    uint64_t i = b.begin, t0 = weft_plat_now_ns();
    job->trace_by_caller = b.end - b.begin <= WEFT__TRACE_SMALL_BATCH ? 1 : 2;
    for (; i < b.end && !atomic_load_explicit(&job->stop, memory_order_relaxed); i++) {
        if (job->call.kind == WEFT__JOB_BYTES) {
            w->in_bytes[i].data = w->bytes_base + w->items[i].offset;
            w->in_bytes[i].size = w->items[i].size;
        }
        if (timed) atomic_store_explicit(&w->ctrl->started_ns, weft_plat_now_ns(), memory_order_relaxed);
        atomic_store_explicit(&w->ctrl->task, i, memory_order_relaxed);
        atomic_store_explicit(&w->ctrl->attempts, 0, memory_order_relaxed);
        atomic_store_explicit(&w->ctrl->current, i, memory_order_release);
        weft__job_run(job, i, i + 1, w->args.id);
        int own_failure = atomic_load(&job->failed) && job->failure.index == (int64_t)i;
        if (atomic_load_explicit(&job->stop, memory_order_acquire) && !own_failure)
            break; /* stopped from outside: whether item i ran is unknown, so it counts as not */
        if (each_item) {
            report_item(w, i, !own_failure);
            if (weft__wire_flush(&w->wire) != 0) _exit(0);
        }
    }
    atomic_store_explicit(&w->ctrl->current, WEFT__IDLE, memory_order_release);
    uint64_t ok_to = i;
    int report = atomic_load(&job->failed) && !w->failure_sent;
    if (report && job->failure.index >= 0 && (uint64_t)job->failure.index < ok_to)
        ok_to = (uint64_t)job->failure.index;
    for (uint64_t k = b.begin; !each_item && (job->call.kind == WEFT__JOB_BYTES || w->statuses) && k < i; k++)
        report_item(w, k, k < ok_to);
    wire_done d = {.begin = b.begin, .end = b.end, .ran_to = i, .run_ns = weft_plat_now_ns() - t0};
    if (weft__tracing) { /* on disk before the parent hears of the batch, which may stop the trace */
        weft__trace_batch(job, b.begin, b.end, t0, t0 + d.run_ns);
        weft__trace_flush();
    }
    if (report || job->call.kind == WEFT__JOB_REDUCE) w->must_flush = 1;
    if (report) {
        w->failure_sent = 1;
        send_failure(w, &d, job->failure.code, job->failure.status, (uint64_t)job->failure.index,
                     job->failure.message);
    } else {
        weft__wire_put(&w->wire, WIRE_DONE, &d, sizeof d, NULL, 0);
    }
}

/* The parent traces (a part file to write, and the id of the call that follows) or
 * stopped (no path). */
static void trace(worker *w, const unsigned char *p, size_t len) {
    wire_trace t;
    if (len < sizeof t) return;
    memcpy(&t, p, sizeof t);
    char path[4096];
    size_t n = len - sizeof t < sizeof path - 1 ? len - sizeof t : sizeof path - 1;
    memcpy(path, p + sizeof t, n);
    path[n] = '\0';
    w->trace_call = n ? t.call : 0;
    if (!n) {
        if (weft__tracing) weft__trace_begin_part(NULL);
        w->trace_part[0] = '\0';
    } else if (!weft__tracing || strcmp(path, w->trace_part) != 0) {
        /* a part that cannot be written leaves a gap in the trace, not a failure */
        weft__trace_begin_part(path);
        memcpy(w->trace_part, path, n + 1);
    }
}

static void open_nested_pool(worker *w) {
    weft_options o;
    weft_options_init(&o);
    o.backend = w->args.share > 1 && weft_backend_find("threads") ? "threads" : "sequential";
    o.n_jobs = w->args.share;
    if (weft_pool_open(&w->nested, &o) != 0) {
        o.backend = "sequential";
        weft_pool_open(&w->nested, &o);
    }
}

static int ready(void *wire) { return weft__wire_ready(wire); }

/* Sleep until the pool writes: 0 when it is gone, or after idle_ms without work. */
static int wait_for_work(worker *w) {
    uint64_t start = weft_plat_now_ns();
    for (;;) {
        int left = -1;
        if (w->args.idle_ms > 0) {
            uint64_t spent_ms = (weft_plat_now_ns() - start) / 1000000u;
            if (spent_ms >= (uint64_t)w->args.idle_ms) return 0;
            left = w->args.idle_ms - (int)spent_ms;
        }
        int r = weft__wire_wait(&w->wire, left, ALIVE_CHECK_MS);
        if (r) return r > 0;
    }
}

void weft__worker_main(const weft__worker_args *a, int sock, int ctrl_fd, int fork_server) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (fork_server && getppid() == 1) _exit(0); /* the server went between fork and here */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    static worker w;
    self = &w;
    w.args = *a;
    void *page;
    if (weft_plat_shm_map(ctrl_fd, sizeof(weft__ctrl), &page) != 0) _exit(70);
    close(ctrl_fd);
    w.ctrl = page;
    weft__wire_init(&w.wire, sock, &w.ctrl->to_parent, &w.ctrl->to_worker);
    w.job = &w.ctrl->job;
    weft__shared_set_id_base((uint64_t)getpid() << 32);
    weft__budget_take_share(a->share, set_runtime_var);
    weft__trace_in_worker();
    weft__trace_name_process("weft worker process %d", a->id);
    weft__trace_name_thread("worker process %d", a->id);
    open_nested_pool(&w);
    for (;;) {
        if (w.wire.out_len) {
            fflush(stdout);
            fflush(stderr);
            if (weft__wire_flush(&w.wire) != 0) _exit(0);
        }
        /* a pool that just got an answer often sends more at once: look for a while
           before sleeping (spin.c) */
        if (!weft__spin_wait(ready, &w.wire, SPIN_NS, weft__wire_peer_cpu(&w.wire)) && !wait_for_work(&w))
            _exit(0);
        ssize_t got = weft__wire_fill_flags(&w.wire, MSG_DONTWAIT);
        /* the pool closed, the program is gone, or idle too long (wait_for_work): the
           pool starts another worker when it needs one */
        if (got <= 0) _exit(0);
        weft__spin_apart(weft__wire_peer_cpu(&w.wire));
        uint32_t type;
        const unsigned char *p;
        size_t len, unread = w.wire.in_len - w.wire.in_pos;
        while (weft__wire_next(&w.wire, &type, &p, &len)) {
            /* answer the first half of a burst of batches while running the second, so
               the pool can send more before this worker runs dry */
            size_t left = w.wire.in_len - w.wire.in_pos;
            if (w.wire.out_len && left && left <= unread / 2) {
                unread = 0;
                if (weft__wire_flush(&w.wire) != 0) _exit(0);
            }
            switch (type) {
            case WIRE_REGION: {
                wire_region r;
                memcpy(&r, p, sizeof r);
                int fd = weft__wire_take_fd(&w.wire);
                if (fd >= 0) weft__shared_adopt(r.id, fd, r.size);
                break;
            }
            case WIRE_FORGET: {
                weft_shared h;
                memcpy(&h.id, p, sizeof h.id);
                weft_shared_free(h);
                break;
            }
            case WIRE_TRACE: trace(&w, p, len); break;
            case WIRE_JOB: start_job(&w, p, len); break;
            case WIRE_BATCH: run_batch(&w, p); break;
            case WIRE_EXIT:
                fflush(stdout);
                fflush(stderr);
                _exit(0);
            default: break;
            }
        }
    }
}
