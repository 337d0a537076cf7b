/* Ranks other than 0: receive calls and batches from rank 0, run the tasks with the core's
 * own weft__job_run on a job narrowed to the batch, send back how each batch went with
 * its outputs. Tasks are found by name: every rank runs the same program. */
#define _GNU_SOURCE
#include "mpi_internal.h"
#include "../core/trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often a running batch looks for a STOP from rank 0 (between two tasks). */
#define STOP_POLL_NS 100000u

typedef struct outbuf {
    unsigned char *p;
    size_t len, cap;
    int oom;
} outbuf;

static void *put(outbuf *o, const void *data, size_t n) {
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 4096;
        while (cap < o->len + n) cap *= 2;
        unsigned char *grown = weft__mpi_alloc(cap, &cap);
        if (!grown) {
            o->oom = 1;
            return NULL;
        }
        if (o->len) memcpy(grown, o->p, o->len);
        free(o->p);
        o->p = grown;
        o->cap = cap;
    }
    void *at = o->p + o->len;
    if (data) memcpy(at, data, n);
    o->len += n;
    return at;
}

typedef struct server {
    int rank;
    msg_job j;
    char name[128];
    const weft_task_def *task;
    weft_reducer reducer;
    unsigned char *identity; /* REDUCE: a fresh accumulator, as rank 0 made it */
    int missing;             /* why this call cannot run here, or 0 */
    char why[256];
    int stopped;      /* a STOP came for this call */
    uint64_t started; /* tasks started: the clock is read every 64th */
    uint64_t polled_ns;
    uint64_t deadline_ns; /* the call's, on this rank's clock; 0 none */
    weft_pool *nested;    /* what a task's own weft_map(NULL, ...) runs on */
    outbuf out;
    weft__mpi_inbox ok_buf, outputs_buf; /* a batch's, kept for the next */
} server;

static server *self;

static void read_stop(server *s, unsigned char *p, size_t len) {
    uint64_t seq;
    if (len >= sizeof seq) {
        memcpy(&seq, p, sizeof seq);
        if (seq == s->j.seq) s->stopped = 1;
    }
}

/* Between two tasks: has rank 0 stopped the call? (MPI keeps messages of one tag in
 * order, so looking for TAG_STOP alone skips the batches queued before it.) */
static void poll_stop(weft__job *job, size_t index) {
    (void)index;
    if (++self->started % 64) return; /* the clock itself costs as much as a tiny task */
    uint64_t now = weft_plat_now_ns();
    if (now - self->polled_ns < STOP_POLL_NS) return;
    self->polled_ns = now;
    int flag = 0;
    MPI_Status st;
    MPI_Iprobe(0, TAG_STOP, weft__mpi_comm, &flag, &st);
    if (!flag) return;
    static weft__mpi_inbox box; /* not the batch's, which is running */
    size_t len;
    unsigned char *p = weft__mpi_recv(&st, &box, &len);
    if (p) read_stop(self, p, len);
    if (self->stopped) atomic_store(&job->stop, 1);
}

/* The call described at `p` (len bytes at most); returns the description's length. */
static size_t start_job(server *s, const unsigned char *p, size_t len) {
    memset(&s->j, 0, sizeof s->j);
    if (len >= sizeof s->j) memcpy(&s->j, p, sizeof s->j);
    const msg_job *j = &s->j;
    s->stopped = 0;
    s->deadline_ns = j->deadline_left_ns ? weft_plat_now_ns() + j->deadline_left_ns : 0;
    s->missing = 0;
    free(s->identity);
    s->identity = NULL;
    size_t name_len = j->name_len < sizeof s->name - 1 ? j->name_len : sizeof s->name - 1;
    const unsigned char *at = p + sizeof *j;
    size_t used = sizeof *j + j->name_len + j->image_len + (j->kind == WEFT__JOB_REDUCE ? j->acc_size : 0);
    if (len < used) {
        s->missing = WEFT_ESYS;
        snprintf(s->why, sizeof s->why, "rank %d got a damaged call message", s->rank);
        return len;
    }
    memcpy(s->name, at, name_len);
    s->name[name_len] = '\0';
    at += j->name_len;
    s->task = weft_task_find(s->name);
    if (!s->task) {
        s->missing = WEFT_ENOTASK;
        snprintf(s->why, sizeof s->why, "task '%.64s' is not registered on rank %d (host %s): every rank "
                                        "must run the same program, with the task registered before weft_mpi_init",
                 s->name, s->rank, weft__mpi_ranks()[0].host);
        return used;
    }
    if (j->kind != WEFT__JOB_REDUCE) return used;
    char image[4096];
    size_t image_len = j->image_len < sizeof image - 1 ? j->image_len : sizeof image - 1;
    memcpy(image, at, image_len);
    image[image_len] = '\0';
    at += j->image_len;
    memset(&s->reducer, 0, sizeof s->reducer);
    void *fold = weft__mpi_resolve(image, j->fold_offset);
    memcpy(&s->reducer.fold, &fold, sizeof fold);
    s->reducer.acc_size = j->acc_size;
    if (j->user_region) {
        unsigned char *base = weft_shared_ptr((weft_shared){j->user_region});
        s->reducer.user = base ? base + j->user_offset : NULL;
    }
    s->identity = malloc(j->acc_size ? j->acc_size : 1);
    if (s->identity) memcpy(s->identity, at, j->acc_size);
    if (!fold) {
        s->missing = WEFT_EINVAL;
        snprintf(s->why, sizeof s->why, "the reducer's fold is not in the program rank %d runs (%.128s)",
                 s->rank, image);
    } else if (!s->identity || (j->user_region && !s->reducer.user)) {
        s->missing = WEFT_ENOMEM;
        snprintf(s->why, sizeof s->why, "rank %d could not set up the reduction", s->rank);
    }
    return used;
}

/* A local job over `n` items of the call, its item 0 being the call's item `first`. */
static void local_job(server *s, weft__job *job, size_t n) {
    memset(job, 0, sizeof *job);
    job->call.kind = (weft__job_kind)s->j.kind;
    job->call.n = n;
    job->call.task = s->task;
    job->call.in_size = s->j.in_size;
    job->call.out_size = s->j.out_size;
    job->level = (int)s->j.level;
    job->pool = s->nested;
    weft_options_init(&job->options);
    job->options.backend = weft_pool_backend(s->nested);
    job->options.n_jobs = 1;
    job->options.verbose = 0;
    job->options.retries = (int)s->j.retries;
    job->options.retry_backoff_s = s->j.retry_backoff_s;
    job->options.task_timeout_s = s->j.task_timeout_s;
    job->task_timeout_ns = (uint64_t)(s->j.task_timeout_s * 1e9);
    job->on_start = poll_stop;
    /* traced: tasks by weft__job_run when the batch is small, the batch by run_batch */
    job->trace_call = s->j.trace_call;
    job->trace_by_caller = n <= WEFT__TRACE_SMALL_BATCH && s->j.kind != WEFT__JOB_REDUCE ? 1 : 2;
    /* the call's time limit: a task polling weft_cancelled sees it here too */
    job->deadline_ns = s->deadline_ns;
    atomic_init(&job->stop, s->stopped);
    atomic_init(&job->failed, 0);
    atomic_init(&job->failure_ready, 0);
}

/* Its failure (fail-fast) and its statuses (collect-all), items numbered from `base`. */
static void put_failures(server *s, weft__job *job, msg_done *d, uint64_t base, weft_status *statuses) {
    if (atomic_load(&job->failed) && !d->failed) {
        d->failed = 1;
        d->code = job->failure.code;
        d->status = job->failure.status;
        d->index = base + (uint64_t)(job->failure.index < 0 ? 0 : job->failure.index);
        d->message_len = (uint32_t)strlen(job->failure.message) + 1;
        put(&s->out, job->failure.message, d->message_len);
    }
    for (size_t k = 0; statuses && k < job->call.n; k++) {
        weft_status *st = &statuses[k];
        if (!st->code) continue;
        const char *m = st->message ? st->message : weft_strerror(st->code);
        msg_status ms = {base + k, st->code, st->status, (uint32_t)strlen(m) + 1, 0};
        put(&s->out, &ms, sizeof ms);
        put(&s->out, m, ms.message_len);
        d->n_statuses++;
        free(st->message);
        st->message = NULL;
    }
}

static unsigned char *item_ok; /* per item of the batch: 1 ran and succeeded */
static void note_item(weft__job *job, size_t index, int code, const char *message) {
    (void)job;
    (void)message;
    item_ok[index] = code == 0;
}

/* The batch at `p`; its items start `skip` bytes after its header. */
static void run_batch(server *s, const unsigned char *p, size_t len, size_t skip) {
    msg_batch b;
    memcpy(&b, p, sizeof b);
    size_t count = b.end - b.begin;
    const unsigned char *at = p + sizeof b + skip;
    msg_done d = {.seq = b.seq, .begin = b.begin, .end = b.end, .ran_to = b.begin};
    s->out.len = 0;
    s->out.oom = 0;
    put(&s->out, NULL, sizeof d);
    uint64_t t0 = weft_plat_now_ns();
    weft__job job;
    if (s->missing) {
        d.failed = 1;
        d.code = s->missing;
        d.index = b.begin;
        d.message_len = (uint32_t)strlen(s->why) + 1;
        put(&s->out, s->why, d.message_len);
    } else if (s->j.kind == WEFT__JOB_REDUCE) {
        size_t stride = s->j.acc_size;
        int chunks = s->j.chunked != 0;
        size_t n_accs = chunks ? count : 1;
        unsigned char *accs = malloc(n_accs * stride + 1);
        for (size_t a = 0; accs && a < n_accs; a++) memcpy(accs + a * stride, s->identity, stride);
        uint64_t lo0 = chunks ? s->j.n_tasks * b.begin / s->j.n : b.begin;
        for (size_t c = 0; accs && c < n_accs && !d.failed; c++) {
            uint64_t lo = chunks ? s->j.n_tasks * (b.begin + c) / s->j.n : b.begin;
            uint64_t hi = chunks ? s->j.n_tasks * (b.begin + c + 1) / s->j.n : b.end;
            local_job(s, &job, hi - lo);
            job.call.inputs = at + (lo - lo0) * s->j.in_size;
            job.call.begin = lo;
            job.call.reducer = &s->reducer;
            job.call.accs = accs + c * stride;
            job.call.acc_stride = stride;
            weft__job_run(&job, 0, job.call.n, 0);
            put_failures(s, &job, &d, lo, NULL);
            if (weft__tracing && (c + 1 == n_accs || d.failed || atomic_load(&job.stop)))
                weft__trace_batch_as(&job, b.begin, b.end, b.begin, t0, weft_plat_now_ns());
            if (atomic_load(&job.stop)) break;
        }
        d.ran_to = b.end;
        if (accs) put(&s->out, accs, n_accs * stride);
        free(accs);
    } else {
        local_job(s, &job, count);
        job.call.begin = s->j.base + b.begin; /* the call's index of the batch's item 0 */
        size_t *idx = NULL;
        if (s->j.indexed) {
            idx = malloc(count * sizeof *idx + 1);
            if (idx) memcpy(idx, at, count * sizeof *idx);
            at += count * sizeof *idx;
            job.call.index_of = idx; /* the call's indices themselves */
            job.call.begin = 0;
        }
        weft_status *statuses = s->j.collect ? calloc(count + 1, sizeof *statuses) : NULL;
        job.call.statuses = statuses;
        unsigned char *ok = weft__mpi_grow(&s->ok_buf, count + 1);
        if (ok) memset(ok, 0, count);
        item_ok = ok;
        job.on_item = note_item;
        unsigned char *outputs = NULL;
        weft_bytes *in = NULL, *outb = NULL;
        if (s->j.kind == WEFT__JOB_MAP) {
            job.call.inputs = at;
            outputs = weft__mpi_grow(&s->outputs_buf, count * s->j.out_size + 1);
            job.call.outputs = outputs;
        } else {
            in = calloc(count + 1, sizeof *in);
            outb = calloc(count + 1, sizeof *outb);
            const unsigned char *data = at + count * sizeof(uint64_t);
            for (size_t k = 0; in && k < count; k++) {
                uint64_t size;
                memcpy(&size, at + k * sizeof size, sizeof size);
                in[k] = (weft_bytes){(void *)data, size};
                data += size;
            }
            job.call.in_bytes = in;
            job.call.out_bytes = outb;
        }
        if (!ok || (!outputs && !outb) || (s->j.collect && !statuses) || (s->j.indexed && !idx) ||
            (outb && !in)) {
            d.failed = 1;
            d.code = WEFT_ENOMEM;
            d.index = b.begin;
            snprintf(s->why, sizeof s->why, "rank %d ran out of memory for a batch of %zu items", s->rank, count);
            d.message_len = (uint32_t)strlen(s->why) + 1;
            put(&s->out, s->why, d.message_len);
        } else {
            weft__job_run(&job, 0, count, s->rank);
            if (weft__tracing) weft__trace_batch_as(&job, b.begin, b.end, weft__job_call_index(&job, 0), t0, weft_plat_now_ns());
            d.ran_to = b.end;
            put_failures(s, &job, &d, b.begin, statuses);
            put(&s->out, ok, count);
            if (outputs) {
                put(&s->out, outputs, count * s->j.out_size);
            } else {
                for (size_t k = 0; k < count; k++) {
                    uint64_t size = ok[k] ? outb[k].size : UINT64_MAX;
                    put(&s->out, &size, sizeof size);
                }
                for (size_t k = 0; k < count; k++)
                    if (ok[k] && outb[k].size) put(&s->out, outb[k].data, outb[k].size);
            }
        }
        if (outb) weft_bytes_free(outb, count);
        weft_status_free(statuses, statuses ? count : 0);
        free(statuses);
        free(outb);
        free(in);
        free(idx);
    }
    (void)len;
    d.run_ns = weft_plat_now_ns() - t0;
    if (s->out.oom) {
        fprintf(stderr, "weft: mpi: rank %d ran out of memory for a batch's results\n", s->rank);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    memcpy(s->out.p, &d, sizeof d);
    MPI_Send(s->out.p, (int)s->out.len, MPI_BYTE, 0, TAG_DONE, weft__mpi_comm);
}

/* A region rank 0 made: its bytes, kept here by id until rank 0 frees it. */
static void adopt_region(server *s, const unsigned char *p, size_t len) {
    msg_region r;
    if (len < sizeof r) return;
    memcpy(&r, p, sizeof r);
    void *base = NULL;
    int fd = -1;
    int made = weft_plat_shm_create(r.size, &base, &fd) == 0;
    for (uint64_t at = 0; at < r.size; at += WEFT_MPI_PIECE) {
        size_t piece = r.size - at < WEFT_MPI_PIECE ? r.size - at : WEFT_MPI_PIECE;
        static char sink[1];
        MPI_Recv(made ? (char *)base + at : sink, made ? (int)piece : 0, MPI_BYTE, 0, TAG_REGION_DATA,
                 weft__mpi_comm, MPI_STATUS_IGNORE);
    }
    if (!made) {
        fprintf(stderr, "weft: mpi: rank %d could not make a %llu-byte shared region\n", s->rank,
                (unsigned long long)r.size);
        return;
    }
    weft_plat_shm_release(base, r.size, -1);
    weft__shared_adopt(r.id, fd, r.size);
}

/* A region of rank 0 on this node: its memory, mapped on first use (window.c). */
static void map_region(server *s, const unsigned char *p, size_t len) {
    msg_region_map r;
    if (len < sizeof r) return;
    memcpy(&r, p, sizeof r);
    int fd = weft__mpi_open_region(r.pid, r.fd, r.ino);
    if (fd < 0 || weft__shared_adopt(r.id, fd, r.size) != 0)
        fprintf(stderr, "weft: mpi: rank %d could not map region %llu of rank 0 (pid %d)\n", s->rank,
                (unsigned long long)r.id, (int)r.pid);
}

/* Wait for rank 0's next message: poll for WEFT_MPI_POLL_NS, then sleep in growing
 * steps (up to 1 ms) so an idle rank costs nothing. */
static void wait_message(MPI_Status *st) {
    uint64_t since = weft_plat_now_ns();
    long nap_ns = 20000;
    for (;;) {
        int flag = 0;
        MPI_Iprobe(0, MPI_ANY_TAG, weft__mpi_comm, &flag, st);
        if (flag) return;
        if (weft_plat_now_ns() - since < WEFT_MPI_POLL_NS) continue;
        struct timespec ts = {0, nap_ns};
        nanosleep(&ts, NULL);
        if (nap_ns < 1000000) nap_ns += nap_ns / 2;
    }
}

void weft__mpi_serve(int rank) {
    /* WEFT_TRACE is the root rank's: a serving rank records only when rank 0 says (trace.c) */
    weft__trace_env_done();
    static server s;
    self = &s;
    s.rank = rank;
    weft__shared_set_id_base(((uint64_t)rank + 1) << 40);
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.n_jobs = 1;
    weft_pool_open(&s.nested, &o);
    weft__mpi_inbox box = {0};
    for (;;) {
        MPI_Status st;
        wait_message(&st);
        size_t len;
        unsigned char *p = weft__mpi_recv(&st, &box, &len);
        if (!p) {
            fprintf(stderr, "weft: mpi: rank %d could not receive from rank 0\n", rank);
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
        int leave = 0;
        switch (st.MPI_TAG) {
        case TAG_REGION: adopt_region(&s, p, len); break;
        case TAG_FORGET:
            if (len >= sizeof(uint64_t)) {
                weft_shared h;
                memcpy(&h.id, p, sizeof h.id);
                weft_shared_free(h);
            }
            break;
        case TAG_WINDOW: weft__mpi_window_adopt(rank, p, len); break;
        case TAG_REGION_MAP: map_region(&s, p, len); break;
        case TAG_UNWINDOW: weft__mpi_window_forget(p, len); break;
        case TAG_JOB:
            if (len >= sizeof(msg_batch))
                run_batch(&s, p, len, start_job(&s, p + sizeof(msg_batch), len - sizeof(msg_batch)));
            break;
        case TAG_BATCH:
            if (len >= sizeof(msg_batch)) run_batch(&s, p, len, 0);
            break;
        case TAG_STOP: read_stop(&s, p, len); break;
        case TAG_TRACE: weft__mpi_trace_serve(rank, p, len); break;
        case TAG_EXIT: leave = 1; break;
        default: break;
        }
        if (leave) break;
    }
    free(box.p);
    weft_pool_close(s.nested);
    free(s.identity);
    free(s.out.p);
    free(s.ok_buf.p);
    free(s.outputs_buf.p);
}
