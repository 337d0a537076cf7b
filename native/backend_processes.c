/* The processes backend: persistent worker processes, isolated from the caller and from
 * each other, fed through shared memory.
 *
 * Data never travels through the sockets for fixed-size maps: the inputs and outputs sit in
 * shared regions that every worker maps (the caller's own weft_shared regions as they are,
 * small calls in the pool's reusable scratch region, calls above the shared threshold in a
 * region of their own), so a batch message is two integers and the worker runs the core's
 * weft__job_run against its mapping. Variable-size outputs come back as frames.
 *
 * Each worker has a control page that both sides map: its copy of the call (so a task
 * sees job.stop, which the parent sets the moment any task fails) and the index of the
 * item it is running, so that when a worker dies (a signal, an exit, a timeout kill) the
 * failure names the task; the worker is replaced and the items it had not reached are
 * handed out again.
 *
 * Batches: fixed, or automatic (doubling while a batch takes under half a millisecond);
 * each worker has up to two batches queued, or more (core/batching.h) while they take only
 * microseconds, so unbatched maps stream instead of paying a round trip per item. */
#define _GNU_SOURCE
#include "../core/batching.h"
#include "native.h"
#include "../core/trace.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_DEPTH WEFT__QUEUE_MAX
#define REAP_WAIT_MS 2000
#define SPIN_NS 30000u
/* How soon a crash is noticed while the pool sleeps on one worker's futex (the socket
 * tells at once in poll()). */
#define DEATH_CHECK_MS 10
#define DEFAULT_IDLE_S 300
/* After a call stops (failure, cancel, Ctrl-C, call timeout), tasks that do not poll
 * weft_cancelled get this long before their workers are killed and replaced. */
#define CANCEL_GRACE_NS 1000000000u
/* How long an iterator's reader waits for replies per help() before it looks again. */
#define HELP_WAIT_MS 20
/* Regions made for big calls are kept for the next call (their pages stay mapped in every
 * worker, which spares a page fault per page per process), up to this much per pool. */
#define SPARE_BYTES ((size_t)256 << 20)
#define MAX_SPARES 4

typedef struct queued {
    uint64_t begin, end;
} queued;

typedef struct proc_worker {
    pid_t pid; /* 0: not running */
    weft__wire wire;
    weft__ctrl *ctrl;
    uint64_t synced_gen;
    uint64_t *known; /* regions this worker has been sent */
    size_t n_known, cap_known;
    queued q[MAX_DEPTH];
    int q_head, q_len;
    int job_sent;
    int killed; /* KILLED_TIMEOUT while running killed_index; KILLED_STOPPED */
    uint64_t killed_index, killed_task;
    size_t batch;
    uint64_t recent_ns; /* how long its recent batches ran, as it measured */
    int traced;         /* it was told to trace */
} proc_worker;

enum { KILLED_TIMEOUT = 1,
       KILLED_STOPPED };

typedef struct call call;

/* The bytes a region holds, by size and XXH3-128 of the contents: a call whose big inputs
 * are the same bytes again (the same array passed again, unchanged) finds them in place. */
typedef struct content {
    size_t size;
    uint8_t hash[16];
} content;

typedef struct proc_state {
    int n;
    proc_worker *w;
    /* one call at a time; an iterator's call holds it from submit to finish, and the
     * holder's next call (EDEADLK: it is an error-checking mutex) completes that one first */
    pthread_mutex_t lock;
    call *active;
    int share, idle_ms;
    struct pollfd *polls; /* one per worker */
    weft_shared arena;
    unsigned char *arena_base;
    size_t arena_size;
    struct spare {
        weft_shared region;
        unsigned char *base;
        size_t size;
        content held; /* what a call's inputs left in it (held.size 0: nothing known) */
    } spares[MAX_SPARES];
    int n_spares;
} proc_state;

/* Where one side of a call's data sits for the workers. */
typedef struct placed {
    uint64_t region, offset;
    unsigned char *base; /* the same bytes here */
    weft_shared own;     /* a region made for this call, freed after it */
    int copied;          /* outputs: copy back to the caller's array */
    content held;        /* inputs in `own`: kept with it, so the same bytes need no copy */
} placed;

typedef struct range {
    uint64_t begin, end;
    uint64_t spent_task; /* a task retried after a death (WEFT__IDLE: none) */
    uint32_t spent;      /* and the attempts it had */
} range;

typedef struct crash_count {
    uint64_t task;
    int spent; /* attempts used by the workers that died under it */
} crash_count;

struct call {
    proc_state *st;
    weft__job *job;
    placed in, out, acc, idx; /* idx: the job's index_of, when it has one */
    uint64_t next, done;
    range *again; /* items to hand out again (a worker died before reaching them) */
    size_t n_again, cap_again;
    crash_count *crashes; /* tasks whose worker died under them, retried */
    size_t n_crashes;
    int stop_sent;
    uint64_t stop_ns;
    size_t acc_size; /* REDUCE: bytes of accumulators */
    int rc;          /* the call itself failed: WEFT_ESYS, WEFT_ENOMEM */
    int ended;       /* complete() ran: nothing of it is out any more */
};

/* ---- workers */

/* The per-task timeout in whole milliseconds (at least 1 when one is set); 0: none. */
static int task_timeout_ms(const weft__job *job) {
    double ms = job->options.task_timeout_s * 1000.0;
    return ms <= 0 ? 0 : ms < 1 ? 1
                     : ms > 2e9 ? 2000000000
                                : (int)ms;
}

static int spawn(proc_state *st, int k) {
    proc_worker *w = &st->w[k];
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -errno;
    void *page;
    int ctrl_fd;
    int rc = weft_plat_shm_create(sizeof(weft__ctrl), &page, &ctrl_fd);
    if (rc) {
        close(sv[0]);
        close(sv[1]);
        return rc;
    }
    w->ctrl = page;
    atomic_store(&w->ctrl->current, WEFT__IDLE);
    atomic_store(&w->ctrl->to_worker.writer_cpu, -1); /* none written yet */
    atomic_store(&w->ctrl->to_parent.writer_cpu, -1);
    weft__worker_args args = {.id = k, .share = st->share, .idle_ms = st->idle_ms};
    pid_t pid = 0;
    rc = weft__spawn_worker(&args, sv[1], ctrl_fd, sv[0], &pid);
    close(sv[1]);
    close(ctrl_fd);
    if (rc) {
        close(sv[0]);
        weft_plat_shm_release(page, sizeof(weft__ctrl), -1);
        w->ctrl = NULL;
        return rc;
    }
    weft__wire_init(&w->wire, sv[0], &w->ctrl->to_worker, &w->ctrl->to_parent);
    w->pid = pid;
    w->synced_gen = 0;
    w->n_known = 0;
    w->q_head = w->q_len = 0;
    w->job_sent = 0;
    w->killed = 0;
    w->traced = 0;
    return 0;
}

/* Reap a worker that is gone or going, and free its side of things. */
static int bury(proc_state *st, int k) {
    proc_worker *w = &st->w[k];
    int status = 0;
    weft__wire_close(&w->wire);
    if (weft__reap_worker(w->pid, REAP_WAIT_MS, &status) != 0) {
        kill(w->pid, SIGKILL);
        if (weft__reap_worker(w->pid, REAP_WAIT_MS, &status) != 0) status = 0;
    }
    if (w->ctrl) weft_plat_shm_release(w->ctrl, sizeof(weft__ctrl), -1);
    w->ctrl = NULL;
    w->pid = 0;
    (void)st;
    return status;
}

static void dismiss(proc_state *st, int k) {
    proc_worker *w = &st->w[k];
    if (!w->pid) return;
    weft__wire_put(&w->wire, WIRE_EXIT, NULL, 0, NULL, 0);
    weft__wire_flush(&w->wire);
    shutdown(w->wire.fd, SHUT_WR);
    bury(st, k);
}

static void processes_stop(void *state) {
    proc_state *st = state;
    for (int k = 0; k < st->n && st->w; k++) {
        dismiss(st, k);
        free(st->w[k].known);
    }
    free(st->w);
    free(st->polls);
    st->w = NULL;
    st->polls = NULL;
    weft_shared_free(st->arena);
    for (int i = 0; i < st->n_spares; i++) weft_shared_free(st->spares[i].region);
    st->n_spares = 0;
    pthread_mutex_destroy(&st->lock);
}

static int processes_start(void *state, int n_workers) {
    proc_state *st = state;
    st->n = n_workers;
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&st->lock, &attr);
    pthread_mutexattr_destroy(&attr);
    st->share = weft__budget_share(n_workers);
    const char *idle = getenv("WEFT_IDLE_TIMEOUT");
    int64_t idle_s = DEFAULT_IDLE_S;
    if (idle && *idle && weft__parse_i64(idle, 0, 1999999, &idle_s) != 0) {
        char why[160];
        int n = snprintf(why, sizeof why, "weft: WEFT_IDLE_TIMEOUT='%.40s' is not whole seconds "
                                          "(0: never): using %d\n",
                         idle, DEFAULT_IDLE_S);
        weft_plat_write_stderr(why, n > 0 && (size_t)n < sizeof why ? (size_t)n : sizeof why - 1);
        idle_s = DEFAULT_IDLE_S;
    }
    st->idle_ms = idle_s > 0 && idle_s < 2000000 ? (int)(idle_s * 1000) : 0;
    st->w = calloc((size_t)n_workers, sizeof *st->w);
    st->polls = calloc((size_t)n_workers, sizeof *st->polls);
    if (!st->w || !st->polls) {
        free(st->w);
        free(st->polls);
        return WEFT_ENOMEM;
    }
    for (int k = 0; k < n_workers; k++) {
        st->w[k].wire.fd = -1;
        if (spawn(st, k) != 0) {
            processes_stop(st);
            return WEFT_ESYS;
        }
    }
    return 0;
}

/* A worker that is not running a call sends nothing but a late wake-up: anything else
 * on its socket means it is gone (its idle timeout, or killed from outside). */
static int ensure_workers(proc_state *st, struct pollfd *polls) {
    for (int k = 0; k < st->n; k++) polls[k] = (struct pollfd){st->w[k].pid ? st->w[k].wire.fd : -1, POLLIN, 0};
    int ready = poll(polls, (nfds_t)st->n, 0);
    int alive = 0;
    for (int k = 0; k < st->n; k++) {
        proc_worker *w = &st->w[k];
        if (w->pid && ready > 0 && polls[k].revents && !weft__wire_alive(&w->wire)) bury(st, k);
        if (!w->pid) spawn(st, k);
        alive += w->pid != 0;
    }
    return alive;
}

/* ---- regions */

static int knows(proc_worker *w, uint64_t id) {
    for (size_t i = 0; i < w->n_known; i++)
        if (w->known[i] == id) return 1;
    return 0;
}

static void unknow(proc_worker *w, uint64_t id) {
    for (size_t i = 0; i < w->n_known; i++)
        if (w->known[i] == id) {
            w->known[i] = w->known[--w->n_known];
            return;
        }
}

/* Tell a worker of the regions made since it last heard, and of those gone. */
static int sync_regions(proc_state *st, proc_worker *w) {
    uint64_t gen = weft__shared_generation();
    if (w->synced_gen == gen) return 0;
    size_t n;
    weft__region *list = weft__shared_list(st, &n);
    if (!list) return WEFT_ENOMEM;
    for (size_t i = 0; i < w->n_known;) {
        int live = 0;
        for (size_t j = 0; j < n && !live; j++) live = list[j].id == w->known[i];
        if (live) {
            i++;
            continue;
        }
        weft__wire_put(&w->wire, WIRE_FORGET, &w->known[i], sizeof w->known[i], NULL, 0);
        w->known[i] = w->known[--w->n_known];
    }
    int rc = 0;
    for (size_t j = 0; j < n && rc == 0; j++) {
        if (knows(w, list[j].id)) continue;
        if (w->n_known == w->cap_known) {
            size_t cap = w->cap_known ? 2 * w->cap_known : 16;
            uint64_t *grown = realloc(w->known, cap * sizeof *grown);
            if (!grown) {
                rc = WEFT_ENOMEM;
                break;
            }
            w->known = grown;
            w->cap_known = cap;
        }
        wire_region r = {list[j].id, list[j].size};
        if (weft__wire_put_fd(&w->wire, WIRE_REGION, &r, sizeof r, list[j].fd) != 0)
            rc = WEFT_ESYS;
        else
            w->known[w->n_known++] = list[j].id;
    }
    free(list);
    if (rc == 0) w->synced_gen = gen;
    return rc;
}

/* A kept region for `size` bytes: one that holds exactly `want` (its index, *same = 1),
 * else the smallest big enough and not wastefully big, preferring one that holds nothing
 * worth keeping; -1 when none fits. */
static int pick_spare(proc_state *st, size_t size, const content *want, int *same) {
    int best = -1;
    *same = 0;
    for (int i = 0; i < st->n_spares; i++) {
        const struct spare *sp = &st->spares[i];
        if (want && sp->held.size == want->size && memcmp(sp->held.hash, want->hash, 16) == 0) {
            *same = 1;
            return i;
        }
        if (sp->size < size || sp->size / 2 > size) continue;
        if (best < 0 || (sp->held.size == 0) > (st->spares[best].held.size == 0) ||
            ((sp->held.size == 0) == (st->spares[best].held.size == 0) && sp->size < st->spares[best].size))
            best = i;
    }
    return best;
}

/* Put `size` bytes for the workers: where they already are when the caller's array `ptr`
 * lies in a shared region, else in the scratch region from `*arena_used`, else in a region
 * of their own; with `copy_in`, the bytes at `ptr` are copied there. With `reuse` (a
 * map's inputs: workers only read them), big inputs are known by their contents, and the
 * same bytes passed again are found in the kept region that holds them: no copy. */
static int place(call *c, const void *ptr, size_t size, int copy_in, int reuse, size_t *arena_used,
                 placed *out) {
    proc_state *st = c->st;
    memset(out, 0, sizeof *out);
    if (size == 0) return 0;
    if (ptr && weft__shared_find(ptr, size, &out->region, &out->offset) == 0) {
        out->base = (unsigned char *)ptr;
        return 0;
    }
    size_t threshold = (size_t)c->job->options.shared_threshold;
    size_t at = (*arena_used + 63) & ~(size_t)63;
    if (size <= threshold && st->arena.id == 0) {
        size_t arena = 2 * threshold < 65536 ? 65536 : 2 * threshold;
        void *base;
        if (weft__shared_alloc(&st->arena, arena, st, &base) == 0) {
            st->arena_base = base;
            st->arena_size = arena;
        }
    }
    if (size <= threshold && st->arena.id && at + size <= st->arena_size) {
        out->region = st->arena.id;
        out->offset = at;
        out->base = st->arena_base + at;
        *arena_used = at + size;
    } else {
        content want = {0};
        int known = reuse && copy_in && ptr && size <= SPARE_BYTES;
        if (known) {
            want.size = size;
            weft__hash128(ptr, size, want.hash);
        }
        int same, spare = pick_spare(st, size, known ? &want : NULL, &same);
        if (spare >= 0) {
            out->own = st->spares[spare].region;
            out->base = st->spares[spare].base;
            st->spares[spare] = st->spares[--st->n_spares];
            if (same) copy_in = 0; /* it holds these very bytes */
        } else {
            void *base;
            int rc = weft__shared_alloc(&out->own, size, st, &base);
            if (rc) return rc;
            out->base = base;
        }
        out->region = out->own.id;
        if (known) out->held = want;
    }
    if (copy_in && ptr) memcpy(out->base, ptr, size);
    out->copied = 1;
    return 0;
}

/* A BYTES call's inputs: a table of (offset, size), then the items, 64-byte aligned. */
static int place_bytes(call *c, size_t *arena_used) {
    weft__job *job = c->job;
    size_t total = job->call.n * sizeof(wire_item);
    for (size_t i = 0; i < job->call.n; i++) total = ((total + 63) & ~(size_t)63) + job->call.in_bytes[i].size;
    int rc = place(c, NULL, total ? total : 1, 0, 0, arena_used, &c->in);
    if (rc) return rc;
    wire_item *items = (wire_item *)c->in.base;
    size_t at = job->call.n * sizeof(wire_item);
    for (size_t i = 0; i < job->call.n; i++) {
        at = (at + 63) & ~(size_t)63;
        items[i].offset = at;
        items[i].size = job->call.in_bytes[i].size;
        if (items[i].size) memcpy(c->in.base + at, job->call.in_bytes[i].data, items[i].size);
        at += items[i].size;
    }
    return 0;
}

/* Free a region of the pool's, in the workers too (at once: it may be big). */
static void drop_region(proc_state *st, weft_shared region) {
    for (int k = 0; k < st->n; k++) {
        proc_worker *w = &st->w[k];
        if (!w->pid || !knows(w, region.id)) continue;
        weft__wire_put(&w->wire, WIRE_FORGET, &region.id, sizeof region.id, NULL, 0);
        unknow(w, region.id);
        weft__wire_flush(&w->wire);
    }
    weft_shared_free(region);
}

/* A region made for this call: kept for the next one while the spares stay small. */
static void release(call *c, placed *p) {
    if (!p->own.id) return;
    proc_state *st = c->st;
    size_t size = weft_shared_size(p->own), kept = 0;
    for (int i = 0; i < st->n_spares; i++) kept += st->spares[i].size;
    while (st->n_spares && (st->n_spares == MAX_SPARES || kept + size > SPARE_BYTES)) {
        kept -= st->spares[0].size; /* the oldest goes */
        drop_region(st, st->spares[0].region);
        memmove(st->spares, st->spares + 1, (size_t)--st->n_spares * sizeof st->spares[0]);
    }
    if (size <= SPARE_BYTES)
        st->spares[st->n_spares++] = (struct spare){p->own, p->base, size, p->held};
    else
        drop_region(st, p->own);
    p->own.id = 0;
}

/* ---- handing out batches */

static int push_again(call *c, range r) {
    if (r.begin >= r.end) return 0;
    if (c->n_again == c->cap_again) {
        size_t cap = c->cap_again ? 2 * c->cap_again : 16;
        range *grown = realloc(c->again, cap * sizeof *grown);
        if (!grown) return WEFT_ENOMEM;
        c->again = grown;
        c->cap_again = cap;
    }
    c->again[c->n_again++] = r;
    return 0;
}

static int hand_again(call *c, uint64_t begin, uint64_t end) {
    return push_again(c, (range){begin, end, WEFT__IDLE, 0});
}

static int next_range(call *c, proc_worker *w, int alive, range *r) {
    if (c->n_again) {
        *r = c->again[--c->n_again];
        return 1;
    }
    uint64_t n = c->job->call.n;
    if (c->next >= n) return 0;
    uint64_t size = (uint64_t)c->job->batch_size;
    if (!size) size = weft__batch_tail(w->batch, n - c->next, (size_t)alive, 1);
    *r = (range){c->next, n - c->next < size ? n : c->next + size, WEFT__IDLE, 0};
    c->next = r->end;
    return 1;
}

/* Whether a worker's death leaves the call going (retries, collect-all): then the worker
 * reports everything that ran before it runs more, so a crash re-runs only what has no
 * result (wire_job.report_each). */
static int reports_each(const weft__job *job) {
    return job->options.retries > 0 || job->call.statuses;
}

/* A worker traces while its parent does, into a part file of the parent's trace. */
static int tell_trace(proc_worker *w, const weft__job *job) {
    const char *part = weft__tracing ? weft__trace_part_for(w->pid) : NULL;
    if (!part && !w->traced) return 0;
    w->traced = part != NULL;
    wire_trace t = {.call = job->trace_call};
    return weft__wire_put(&w->wire, WIRE_TRACE, &t, sizeof t, part, part ? strlen(part) : 0);
}

static int send_job(call *c, proc_worker *w) {
    int rc = sync_regions(c->st, w);
    if (rc) return rc;
    weft__job *job = c->job;
    wire_job j = {.kind = (uint32_t)job->call.kind, .level = (uint32_t)job->level, .timeout_ms = task_timeout_ms(job), .retries = job->options.retries, .retry_backoff_s = job->options.retry_backoff_s, .n = job->call.n, .in_size = job->call.in_size, .out_size = job->call.out_size, .in_region = c->in.region, .in_offset = c->in.offset, .out_region = c->out.region, .out_offset = c->out.offset, .task_addr = (uint64_t)(uintptr_t)job->call.task, .collect = job->call.statuses != NULL, .base = job->call.begin, .indexed = job->call.index_of != NULL, .idx_region = c->idx.region, .idx_offset = c->idx.offset, .report_each = (uint32_t)reports_each(job)};
    if (job->call.kind == WEFT__JOB_REDUCE) {
        void (*fold)(void *, const void *, size_t, void *) = job->call.reducer->fold;
        void *fold_addr;
        memcpy(&fold_addr, &fold, sizeof fold_addr);
        j.chunked = (uint32_t)job->call.chunked;
        j.n_tasks = job->call.n_tasks;
        j.acc_stride = job->call.acc_stride;
        j.acc_region = c->acc.region;
        j.acc_offset = c->acc.offset;
        j.fold_addr = (uint64_t)(uintptr_t)fold_addr;
        /* weft__job_prepare refused a user pointer outside the shared regions */
        if (job->call.reducer->user) weft__shared_find(job->call.reducer->user, 1, &j.user_region, &j.user_offset);
    }
    atomic_store(&w->ctrl->job.stop, weft__job_stopping(job));
    if ((rc = tell_trace(w, job)) != 0) return rc;
    w->job_sent = 1;
    w->batch = 1;
    w->recent_ns = 0;
    return weft__wire_put(&w->wire, WIRE_JOB, &j, sizeof j, job->call.task->name, strlen(job->call.task->name));
}

/* Batches a worker should have queued (core/batching.h). */
static int depth_of(const proc_worker *w) { return weft__queue_depth(w->recent_ns); }

/* One batch to worker w; 0 when there was none to give. */
static int give(call *c, proc_worker *w, int alive) {
    range r;
    if (!next_range(c, w, alive, &r)) return 0;
    if (!w->job_sent && send_job(c, w) != 0) {
        push_again(c, r);
        return 0;
    }
    wire_batch b = {r.begin, r.end, r.spent_task, r.spent, 0};
    weft__wire_put(&w->wire, WIRE_BATCH, &b, sizeof b, NULL, 0);
    queued *q = &w->q[(w->q_head + w->q_len++) % MAX_DEPTH];
    q->begin = r.begin;
    q->end = r.end;
    return 1;
}

/* Top up every worker's queue, one batch to each in turn, so that a few slow items
 * spread over all the workers instead of queueing behind one. */
static void feed(call *c, int alive) {
    proc_state *st = c->st;
    for (int gave = 1; gave && !weft__job_stopping(c->job);) {
        gave = 0;
        for (int k = 0; k < st->n; k++) {
            proc_worker *w = &st->w[k];
            if (w->pid && w->q_len < depth_of(w) && give(c, w, alive)) gave = 1;
        }
    }
    for (int k = 0; k < st->n; k++)
        if (st->w[k].pid && st->w[k].wire.out_len) weft__wire_flush(&st->w[k].wire);
}

/* MAP items [begin, end) are done: copy their outputs to the caller (those that failed
 * in collect-all mode keep the caller's bytes) and report them. */
static void copy_out(call *c, uint64_t begin, uint64_t end) {
    weft__job *job = c->job;
    if (job->call.kind != WEFT__JOB_MAP) return;
    size_t size = job->call.out_size;
    for (uint64_t k = begin; k < end; k++) {
        uint64_t run = k; /* [k, run): succeeded */
        while (run < end && !(job->call.statuses && job->call.statuses[run].code)) run++;
        if (c->out.copied && size && run > k)
            memcpy(job->call.outputs + k * size, c->out.base + k * size, (run - k) * size);
        for (uint64_t i = k; job->on_item && i < run; i++) job->on_item(job, i, 0, NULL);
        k = run; /* the failed one was reported when its status came */
    }
}

static void on_done(call *c, proc_worker *w, const unsigned char *p, size_t len) {
    wire_done d;
    memcpy(&d, p, sizeof d);
    w->q_head = (w->q_head + 1) % MAX_DEPTH;
    w->q_len--;
    uint64_t ok_to = d.ran_to;
    if (d.failed) {
        const char *message = len > sizeof d ? (const char *)p + sizeof d : "";
        weft__job_finish_remote(c->job, d.index, d.code, d.status, NULL, 0, message);
        if (d.index >= d.begin && d.index < ok_to) ok_to = d.index;
    }
    copy_out(c, d.begin, ok_to);
    c->done += d.end - d.begin;
    if (weft__tracing && c->job->level == 0)
        weft__trace_progress(c->job, c->job->call.n - c->next, c->done + c->job->served);
    if (c->job->on_batch) c->job->on_batch(c->job);
    uint64_t took = d.run_ns;
    w->recent_ns = weft__batch_recent(w->recent_ns, took);
    if (!c->job->batch_size && d.end - d.begin == w->batch) w->batch = weft__batch_next(w->batch, took);
}

static void describe_end(char *buf, size_t size, int status) {
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(buf, size, "killed by signal %d (SIG%s)", sig, abbrev ? abbrev : "?");
    } else if (WIFEXITED(status)) {
        snprintf(buf, size, "exited with code %d", WEXITSTATUS(status));
    } else {
        snprintf(buf, size, "ended");
    }
}

/* A crashed or killed item goes out again while its task has attempts left: retries + 1
 * in all, counting those its dead workers made (`used` by the last one; the death ends
 * one), and the next worker gets only what is left. A chunked reduction's chunk restarts
 * from a fresh accumulator. */
static int retry_item(call *c, uint64_t item, uint64_t task, uint32_t used) {
    weft__job *job = c->job;
    if (job->options.retries <= 0 || weft__job_stopping(job)) return 0;
    size_t i = 0;
    while (i < c->n_crashes && c->crashes[i].task != task) i++;
    if (i == c->n_crashes) {
        crash_count *grown = realloc(c->crashes, (c->n_crashes + 1) * sizeof *grown);
        if (!grown) return 0;
        c->crashes = grown;
        c->crashes[c->n_crashes++] = (crash_count){task, 0};
    }
    int spent = c->crashes[i].spent + (used ? (int)used : 1);
    if (spent > job->options.retries || push_again(c, (range){item, item + 1, task, (uint32_t)spent}) != 0)
        return 0;
    c->crashes[i].spent = spent;
    if (job->call.kind == WEFT__JOB_REDUCE && job->call.chunked)
        job->call.reducer->init(c->acc.base + item * job->call.acc_stride, job->call.reducer->user);
    return 1;
}

/* Worker k is gone in the middle of a call: blame the task it was running (or retry it),
 * give out again what it had not reached, start a new worker in its place. */
static void on_death(call *c, int k) {
    proc_state *st = c->st;
    proc_worker *w = &st->w[k];
    weft__job *job = c->job;
    int killed = w->killed;
    uint64_t blamed = killed == KILLED_TIMEOUT ? w->killed_index : atomic_load(&w->ctrl->current);
    uint64_t task = killed == KILLED_TIMEOUT ? w->killed_task : atomic_load(&w->ctrl->task);
    uint32_t used = atomic_load(&w->ctrl->attempts);
    pid_t pid = w->pid;
    int status = bury(st, k);
    int retried = 0;
    if (blamed != WEFT__IDLE && killed != KILLED_STOPPED && !(retried = retry_item(c, blamed, task, used))) {
        char how[96], message[256], tries[64] = "";
        if (job->options.retries > 0 && !weft__job_stopping(job))
            snprintf(tries, sizeof tries, "; the last of its %d attempts", job->options.retries + 1);
        int code;
        if (killed) {
            code = WEFT_ETIMEDOUT;
            snprintf(message, sizeof message,
                     "task %llu ran past the %d ms task timeout; its worker (pid %d) was killed and replaced%s",
                     (unsigned long long)weft__job_call_index(job, task), task_timeout_ms(job), (int)pid, tries);
        } else {
            code = WEFT_ECRASHED;
            describe_end(how, sizeof how, status);
            snprintf(message, sizeof message, "worker %s while running task %llu (pid %d)%s", how,
                     (unsigned long long)weft__job_call_index(job, task), (int)pid, tries);
        }
        weft__job_finish_remote(job, task, code, 0, NULL, 0, message);
    }
    if (weft__tracing) {
        char args[96];
        snprintf(args, sizeof args, "\"worker\":%d,\"pid\":%d,\"task\":%lld,\"retried\":%d", k, (int)pid,
                 blamed == WEFT__IDLE ? -1LL : (long long)weft__job_call_index(job, task), retried);
        weft__trace_instant(killed == KILLED_TIMEOUT ? "worker killed (task timeout)" : "worker crashed", "failure", args);
    }
    /* items the dead worker finished before: a map's outputs and a reduction's folds are
     * in shared memory already; variable-size outputs and collected statuses came back
     * one by one (reports_each), or went down with it and run again */
    int rerun = (job->call.kind == WEFT__JOB_BYTES || (job->call.kind == WEFT__JOB_MAP && job->call.statuses)) &&
                !reports_each(job);
    for (int i = 0; i < w->q_len; i++) {
        queued *q = &w->q[(w->q_head + i) % MAX_DEPTH];
        if (blamed >= q->begin && blamed < q->end) {
            if (rerun) {
                hand_again(c, q->begin, blamed);
            } else {
                copy_out(c, q->begin, blamed);
                c->done += blamed - q->begin;
            }
            c->done += !retried;
            hand_again(c, blamed + 1, q->end);
        } else {
            hand_again(c, q->begin, q->end);
        }
    }
    w->q_len = 0;
    spawn(st, k);
}

static int read_replies(call *c, int k) {
    proc_worker *w = &c->st->w[k];
    ssize_t got = weft__wire_fill_flags(&w->wire, MSG_DONTWAIT);
    uint32_t type;
    const unsigned char *p;
    size_t len;
    while (weft__wire_next(&w->wire, &type, &p, &len)) {
        if (type == WIRE_DONE && len >= sizeof(wire_done) && w->q_len > 0) {
            on_done(c, w, p, len);
        } else if (type == WIRE_STATUS && len > sizeof(wire_status)) {
            wire_status ws;
            memcpy(&ws, p, sizeof ws);
            const char *message = (const char *)p + sizeof ws;
            if (ws.index < c->job->call.n && ws.code && memchr(message, 0, len - sizeof ws))
                weft__job_finish_remote(c->job, ws.index, ws.code, ws.status, NULL, 0, message);
        } else if (type == WIRE_OUTPUT && len >= sizeof(uint64_t)) {
            uint64_t index;
            memcpy(&index, p, sizeof index);
            if (index < c->job->call.n)
                weft__job_finish_remote(c->job, index, 0, 0, p + sizeof index, len - sizeof index, NULL);
        }
    }
    return got > 0 || got == -EAGAIN ? 0 : -1;
}

/* Kill the workers whose task ran past the timeout; returns ms until the next deadline. */
static int watch_timeouts(call *c) {
    int timeout_ms = task_timeout_ms(c->job);
    if (timeout_ms <= 0) return -1;
    uint64_t now = weft_plat_now_ns(), limit = (uint64_t)timeout_ms * 1000000u;
    int wait_ms = -1;
    for (int k = 0; k < c->st->n; k++) {
        proc_worker *w = &c->st->w[k];
        if (!w->pid || w->killed || !w->q_len) continue;
        uint64_t current = atomic_load_explicit(&w->ctrl->current, memory_order_acquire);
        if (current == WEFT__IDLE) { /* between two items: look again within a timeout */
            if (wait_ms < 0 || timeout_ms < wait_ms) wait_ms = timeout_ms;
            continue;
        }
        uint64_t started = atomic_load_explicit(&w->ctrl->started_ns, memory_order_relaxed);
        if (now - started >= limit) {
            kill(w->pid, SIGKILL);
            w->killed = KILLED_TIMEOUT;
            w->killed_index = current;
            w->killed_task = atomic_load_explicit(&w->ctrl->task, memory_order_relaxed);
            continue;
        }
        int left = (int)((started + limit - now) / 1000000u) + 1;
        if (wait_ms < 0 || left < wait_ms) wait_ms = left;
    }
    return wait_ms;
}

/* Kill the workers still busy a grace period after the call stopped: their tasks do not
 * poll weft_cancelled, and the call must not wait for them. */
static int kill_stragglers(call *c) {
    uint64_t now = weft_plat_now_ns();
    if (now - c->stop_ns < CANCEL_GRACE_NS) return (int)((c->stop_ns + CANCEL_GRACE_NS - now) / 1000000u) + 1;
    for (int k = 0; k < c->st->n; k++) {
        proc_worker *w = &c->st->w[k];
        if (!w->pid || !w->q_len || w->killed) continue;
        kill(w->pid, SIGKILL);
        w->killed = KILLED_STOPPED;
    }
    return 20;
}

/* The workers with batches out: replies wait in one of their rings. */
struct busy_set {
    proc_state *st;
};

static int replies_ready(void *arg) {
    proc_state *st = ((struct busy_set *)arg)->st;
    for (int k = 0; k < st->n; k++)
        if (st->w[k].pid && st->w[k].q_len && weft__wire_ready(&st->w[k].wire)) return 1;
    return 0;
}

/* Sleep until a reply is written or a worker dies: on the ring's futex when one worker is
 * busy (an unbatched call: the cheapest wake-up), else in poll() on the busy workers'
 * sockets, which they ring when they write (unless a reply came while they were told). */
static int sleep_for_replies(proc_state *st, int n_polls, int wait_ms) {
    int came = 0, r;
    for (int k = 0; k < st->n && n_polls == 1; k++) {
        proc_worker *w = &st->w[k];
        if (!w->pid || !w->q_len) continue;
        r = weft__wire_wait(&w->wire, wait_ms, DEATH_CHECK_MS);
        if (r < 0) st->polls[0].revents = POLLHUP; /* read_replies finds it gone */
        return r < 0 ? 1 : r;
    }
    for (int k = 0; k < st->n; k++)
        if (st->w[k].pid && st->w[k].q_len) came |= weft__wire_arm(&st->w[k].wire);
    r = came ? 1 : poll(st->polls, (nfds_t)n_polls, wait_ms);
    for (int k = 0; k < st->n; k++)
        if (st->w[k].pid && st->w[k].q_len) weft__wire_disarm(&st->w[k].wire);
    return r;
}

/* One round of a call: hand out batches, notice a stop, wait up to `max_wait_ms` (-1: as
 * long as needed) for replies and read them. 1 while batches are out, 0 once none is,
 * or WEFT_ESYS. */
static int step(call *c, int max_wait_ms) {
    proc_state *st = c->st;
    weft__job *job = c->job;
    struct pollfd *polls = st->polls;
    int alive = 0;
    for (int k = 0; k < st->n; k++) alive += st->w[k].pid != 0;
    if (!alive) return WEFT_ESYS;
    feed(c, alive);
    int busy = 0;
    for (int k = 0; k < st->n; k++) busy += st->w[k].q_len > 0;
    /* notices a passed call deadline or a Ctrl-C too, and stops the job */
    if (weft__job_check_stop(job) && !c->stop_sent) {
        for (int k = 0; k < st->n; k++)
            if (st->w[k].pid && st->w[k].job_sent) atomic_store(&st->w[k].ctrl->job.stop, 1);
        c->stop_sent = 1;
        c->stop_ns = weft_plat_now_ns();
    }
    if (!busy) return 0;
    int wait_ms = watch_timeouts(c);
    if (job->progress.fn || job->progress.verbose > 0 || job->deadline_ns || job->watch_interrupts)
        wait_ms = wait_ms < 0 || wait_ms > 20 ? 20 : wait_ms;
    if (c->stop_sent) {
        int grace_ms = kill_stragglers(c);
        wait_ms = wait_ms < 0 || wait_ms > grace_ms ? grace_ms : wait_ms;
    }
    if (max_wait_ms >= 0 && (wait_ms < 0 || wait_ms > max_wait_ms)) wait_ms = max_wait_ms;
    /* replies to small batches come within microseconds: look before sleeping, giving
       the CPU between looks to whoever waits for it (on a busy machine, often the worker
       that is to reply), and not at all when a busy worker last wrote from this CPU or
       has never written (it is starting: it needs a CPU more than we need to look) */
    int n_polls = 0, here = sched_getcpu(), peer_cpu = -1;
    for (int k = 0; k < st->n; k++) {
        if (!st->w[k].pid || !st->w[k].q_len) continue;
        polls[n_polls++] = (struct pollfd){st->w[k].wire.fd, POLLIN, 0};
        int cpu = weft__wire_peer_cpu(&st->w[k].wire);
        if (cpu == here || cpu < 0) peer_cpu = here;
    }
    struct busy_set set = {st};
    int r = weft__spin_wait(replies_ready, &set, SPIN_NS, peer_cpu);
    if (r == 0) r = sleep_for_replies(st, n_polls, wait_ms);
    if (r < 0 && errno != EINTR) return WEFT_ESYS;
    for (int k = 0, i = 0; k < st->n; k++) {
        proc_worker *w = &st->w[k];
        if (!w->pid || !w->q_len) continue;
        short ev = polls[i++].revents;
        if (!ev && !weft__wire_ready(&w->wire)) continue;
        if (read_replies(c, k) != 0) on_death(c, k);
    }
    watch_timeouts(c);
    if (weft__job_progress_due(job)) weft__job_progress(job, c->done);
    return 1;
}

/* Run the call to its end and give back what it placed; the pool stays locked. */
static void complete(call *c) {
    while (!c->rc) {
        int r = step(c, -1);
        if (r < 0) c->rc = r;
        if (r <= 0) break;
    }
    weft__job *job = c->job;
    if (job->call.kind == WEFT__JOB_REDUCE && c->acc.copied)
        memcpy(job->call.accs, c->acc.base, c->acc_size);
    release(c, &c->in);
    release(c, &c->out);
    release(c, &c->acc);
    release(c, &c->idx);
    free(c->again);
    free(c->crashes);
    c->st->active = NULL;
    c->ended = 1;
}

/* Start a call on the locked pool: workers up, inputs and outputs placed. */
static int start_call(call *c) {
    proc_state *st = c->st;
    weft__job *job = c->job;
    if (!ensure_workers(st, st->polls)) return WEFT_ESYS;
    size_t arena_used = 0;
    int rc;
    if (job->call.kind == WEFT__JOB_MAP) {
        rc = place(c, job->call.inputs, job->call.n * job->call.in_size, 1, 1, &arena_used, &c->in);
        /* outputs inside a shared region are written in place, never copied */
        if (!rc) rc = place(c, job->call.outputs, job->call.n * job->call.out_size, 0, 0, &arena_used, &c->out);
    } else if (job->call.kind == WEFT__JOB_REDUCE) {
        /* per worker (worker k folds into accumulator k), or per chunk */
        c->acc_size = (job->call.chunked ? job->call.n : (size_t)st->n) * job->call.acc_stride;
        rc = place(c, job->call.inputs, job->call.n_tasks * job->call.in_size, 1, 1, &arena_used, &c->in);
        if (!rc) rc = place(c, job->call.accs, c->acc_size, 1, 0, &arena_used, &c->acc);
    } else {
        rc = place_bytes(c, &arena_used);
    }
    _Static_assert(sizeof(size_t) == sizeof(uint64_t), "index_of travels as uint64");
    if (!rc && job->call.index_of) rc = place(c, job->call.index_of, job->call.n * sizeof(size_t), 1, 0, &arena_used, &c->idx);
    for (int k = 0; k < st->n; k++) st->w[k].job_sent = 0;
    return rc;
}

/* The asynchronous form (iterators): submit starts the call and returns with the pool
 * locked; help reads replies as they come, so results stream while workers run; finish
 * drains it. A second call from the same thread completes the first one before it starts. */
static int processes_submit(void *state, weft__job *job) {
    proc_state *st = state;
    job->backend_data = NULL;
    if (job->call.kind == WEFT__JOB_FOR) return WEFT_ENOSYS;
    if (job->call.n == 0) return 0;
    call *c = calloc(1, sizeof *c);
    if (!c) return WEFT_ENOMEM;
    if (pthread_mutex_lock(&st->lock) == EDEADLK && st->active) complete(st->active);
    c->st = st;
    c->job = job;
    st->active = c;
    job->backend_data = c;
    c->rc = start_call(c);
    if (c->rc) {
        complete(c);
        pthread_mutex_unlock(&st->lock);
    }
    return c->rc;
}

static int processes_help(void *state, weft__job *job) {
    call *c = job->backend_data;
    if (!c || c->ended) return 0;
    int r = step(c, HELP_WAIT_MS);
    if (r > 0) return 1;
    if (r < 0) c->rc = r;
    complete(c);
    pthread_mutex_unlock(&((proc_state *)state)->lock);
    return 0;
}

static int processes_finish(void *state, weft__job *job) {
    call *c = job->backend_data;
    if (!c) return 0;
    if (!c->ended) {
        complete(c);
        pthread_mutex_unlock(&((proc_state *)state)->lock);
    }
    int rc = c->rc;
    free(c);
    job->backend_data = NULL;
    return rc;
}

static int processes_run(void *state, weft__job *job) {
    int rc = processes_submit(state, job);
    int rc2 = processes_finish(state, job);
    return rc ? rc : rc2;
}

static const weft_backend weft__backend_processes = {
    .version = WEFT_BACKEND_VERSION,
    .name = "processes",
    .caps = WEFT_CAP_PARALLEL | WEFT_CAP_ISOLATED,
    .state_size = sizeof(proc_state),
    .start = processes_start,
    .run = processes_run,
    .stop = processes_stop,
    .submit = processes_submit,
    .help = processes_help,
    .finish = processes_finish,
};

const weft_backend *const *weft__native_backends(void) {
    static const weft_backend *const list[] = {&weft__backend_processes, NULL};
    return list;
}
