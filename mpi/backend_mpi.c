/* The mpi backend, rank 0's side: dynamic self-scheduling of a call's items over the
 * other ranks of the world (server.c), and over rank 0 itself between two looks at the
 * replies unless WEFT_MPI_ROOT_WORKS=0.
 *
 * Nothing is shared: a batch carries its inputs, a reply its outputs (or a reduction's
 * partial accumulator, combined here), so results stream back as batches finish and
 * on_item sees each item (Memory stores it at once). Batches follow core/batching.h;
 * each rank keeps two queued, or up to MAX_DEPTH while they take only microseconds.
 * The user's weft_shared regions are sent to a rank once, before its first call that
 * comes after they were made, and kept there by id until freed.
 *
 * A rank that dies cannot be recovered without a fault-tolerant MPI: on this node it is
 * noticed (its pid is gone) and the call fails with WEFT_ECRASHED naming the rank and
 * host; the world is then broken and the job ends at exit. Elsewhere the launcher ends
 * the job (mpirun and srun do when a rank dies) with its own message naming the rank. */
#define _GNU_SOURCE
#include "../core/batching.h"
#include "../core/trace.h"
#include "mpi_internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DEPTH 64
#define LIVENESS_NS 50000000u
/* One batch's inputs stay well below MPI's int counts. */
#define BATCH_BYTES ((size_t)1 << 28)
/* Outputs from this size on are asked for huge pages (start_call). */
#define HUGE_OUTPUTS ((size_t)8 << 20)

typedef struct sent {
    uint64_t begin, end;
    unsigned char *buf;
    size_t cap;
    MPI_Request req;
} sent;

/* Batch buffers a rank's sent batches handed back, for its next ones (see weft__mpi_inbox). */
#define SPARES 4

typedef struct peer {
    int rank;
    sent q[MAX_DEPTH];
    int q_head, q_len;
    unsigned char *spare[SPARES];
    size_t spare_cap[SPARES];
    int n_spare;
    int job_sent, dead;
    const weft_task_def *task; /* of the rank's last call: `batch` was learnt on it */
    size_t batch;
    uint64_t recent_ns;
    uint64_t synced_gen;
    uint64_t *known;
    size_t n_known, cap_known;
} peer;

typedef struct call {
    weft__job *job;
    uint64_t seq, next, done;
    int stop_sent;
    unsigned char *desc; /* the call's description (msg_job and what follows it) */
    size_t desc_len;
    int rc, ended;
    unsigned char *identity; /* REDUCE: a fresh accumulator for the ranks */
    const char *image;
    uint64_t fold_offset;
} call;

/* The world's ranks are one resource whatever the pools: one call at a time. */
static struct world {
    pthread_mutex_t lock;
    int n_peers;
    peer *peers;
    call *active;
    uint64_t seq;
    int root_works;
    int *near, n_near;              /* the ranks on rank 0's node that see regions through windows */
    const weft_task_def *root_task; /* rank 0's own batches: as a peer's */
    size_t root_batch;
    uint64_t root_recent_ns; /* how long rank 0's own batches take lately (0: not known) */
    weft__mpi_inbox inbox;   /* replies */
    uint64_t checked_ns;     /* when the ranks' processes were last looked at (not every call:
                              it costs system calls) */
} world = {.lock = PTHREAD_ERRORCHECK_MUTEX_INITIALIZER_NP};

typedef struct mpi_pool {
    int started;
} mpi_pool;

static int mpi_start(void *state, int n_workers) {
    (void)n_workers; /* every rank of the world works; n_jobs sizes reductions only */
    ((mpi_pool *)state)->started = 1;
    if (weft__mpi_comm == MPI_COMM_NULL)
        return weft__set_error(WEFT_ESYS, "backend 'mpi': MPI is not running (weft_mpi_init was not "
                                          "called, or weft_mpi_finalize was)");
    if (!world.peers) {
        int size;
        MPI_Comm_size(weft__mpi_comm, &size);
        world.n_peers = size - 1;
        world.peers = calloc((size_t)(size > 1 ? size - 1 : 1), sizeof *world.peers);
        if (!world.peers) return WEFT_ENOMEM;
        for (int k = 0; k < world.n_peers; k++) world.peers[k].rank = k + 1;
        world.near = calloc((size_t)(size > 1 ? size - 1 : 1), sizeof *world.near);
        if (!world.near) return WEFT_ENOMEM;
        for (int k = 0; k < world.n_peers; k++)
            if (weft__mpi_ranks()[k + 1].share == SHARE_WINDOW) world.near[world.n_near++] = k + 1;
        const char *v = getenv("WEFT_MPI_ROOT_WORKS");
        world.root_works = !(v && strcmp(v, "0") == 0) || world.n_peers == 0;
    }
    return 0;
}

static void mpi_stop(void *state) {
    (void)state; /* the ranks belong to the world: weft_mpi_finalize dismisses them */
}

/* ---- regions */

static int knows(peer *p, uint64_t id) {
    for (size_t i = 0; i < p->n_known; i++)
        if (p->known[i] == id) return 1;
    return 0;
}

/* Region messages go out to every rank at once (MPI_Isend), then are waited for
 * together: the ranks receive their copies side by side. */
typedef struct outgoing {
    MPI_Request *reqs;
    void **copies; /* headers and ids, each kept until sent (NULL: the caller's bytes) */
    size_t n, cap;
} outgoing;

static int post(outgoing *o, const void *buf, size_t len, int rank, int tag, int copy) {
    if (o->n == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 16;
        MPI_Request *reqs = realloc(o->reqs, cap * sizeof *reqs);
        if (reqs) o->reqs = reqs;
        void **copies = realloc(o->copies, cap * sizeof *copies);
        if (copies) o->copies = copies;
        if (!reqs || !copies) return WEFT_ENOMEM;
        o->cap = cap;
    }
    o->copies[o->n] = NULL;
    if (copy) {
        if (!(o->copies[o->n] = malloc(len))) return WEFT_ENOMEM;
        memcpy(o->copies[o->n], buf, len);
        buf = o->copies[o->n];
    }
    if (MPI_Isend(buf, (int)len, MPI_BYTE, rank, tag, weft__mpi_comm, &o->reqs[o->n]) != MPI_SUCCESS) {
        free(o->copies[o->n]);
        return WEFT_ESYS;
    }
    o->n++;
    return 0;
}

static void send_all(outgoing *o) {
    if (o->n) MPI_Waitall((int)o->n, o->reqs, MPI_STATUSES_IGNORE);
    for (size_t i = 0; i < o->n; i++) free(o->copies[i]);
    free(o->reqs);
    free(o->copies);
    memset(o, 0, sizeof *o);
}

/* Tell a rank of the regions made since it last heard (their bytes), and of those gone. */
static int sync_regions(peer *p, outgoing *o) {
    uint64_t gen = weft__shared_generation();
    if (p->synced_gen == gen) return 0;
    size_t n;
    weft__region *list = weft__shared_list(&world, &n);
    if (!list) return WEFT_ENOMEM;
    for (size_t i = 0; i < p->n_known;) {
        int live = 0;
        for (size_t j = 0; j < n && !live; j++) live = list[j].id == p->known[i];
        if (live) {
            i++;
            continue;
        }
        post(o, &p->known[i], sizeof p->known[i], p->rank, TAG_FORGET, 1);
        p->known[i] = p->known[--p->n_known];
    }
    int rc = 0;
    int share = weft__mpi_ranks()[p->rank].share;
    for (size_t j = 0; j < n && rc == 0; j++) {
        if (knows(p, list[j].id) || (share == SHARE_WINDOW && weft__mpi_window_has(list[j].id))) continue;
        if (p->n_known == p->cap_known) {
            size_t cap = p->cap_known ? 2 * p->cap_known : 16;
            uint64_t *grown = realloc(p->known, cap * sizeof *grown);
            if (!grown) {
                rc = WEFT_ENOMEM;
                break;
            }
            p->known = grown;
            p->cap_known = cap;
        }
        p->known[p->n_known++] = list[j].id;
        if (share == SHARE_MAP) { /* on rank 0's node: its memory itself */
            msg_region_map r = {list[j].id, list[j].size, weft__mpi_inode(list[j].fd), weft__mpi_ranks()[0].pid,
                                list[j].fd};
            rc = post(o, &r, sizeof r, p->rank, TAG_REGION_MAP, 1);
            continue;
        }
        const unsigned char *base = weft_shared_ptr((weft_shared){list[j].id});
        msg_region r = {list[j].id, base ? list[j].size : 0};
        rc = post(o, &r, sizeof r, p->rank, TAG_REGION, 1);
        for (uint64_t at = 0; at < r.size && rc == 0; at += WEFT_MPI_PIECE) {
            size_t piece = r.size - at < WEFT_MPI_PIECE ? r.size - at : WEFT_MPI_PIECE;
            rc = post(o, base + at, piece, p->rank, TAG_REGION_DATA, 0);
        }
    }
    free(list);
    if (rc == 0) p->synced_gen = gen;
    return rc;
}

/* ---- sending work */

/* The call's description, sent once to each rank inside its first batch (TAG_JOB). */
static int describe_call(call *c) {
    weft__job *job = c->job;
    msg_job j = {.seq = c->seq, .kind = (uint32_t)job->call.kind, .level = (uint32_t)job->level, .n = job->call.n, .in_size = job->call.in_size, .out_size = job->call.out_size, .base = job->call.begin, .collect = job->call.statuses != NULL, .indexed = job->call.index_of != NULL, .chunked = (uint32_t)job->call.chunked, .retries = (uint32_t)(job->options.retries > 0 ? job->options.retries : 0), .n_tasks = job->call.n_tasks, .task_timeout_s = job->options.task_timeout_s, .retry_backoff_s = job->options.retry_backoff_s, .trace_call = job->trace_call, .name_len = (uint32_t)strlen(job->call.task->name)};
    uint64_t now = weft_plat_now_ns();
    if (job->deadline_ns) j.deadline_left_ns = job->deadline_ns > now ? job->deadline_ns - now : 1;
    size_t acc = 0;
    if (job->call.kind == WEFT__JOB_REDUCE) {
        acc = job->call.reducer->acc_size;
        j.acc_size = acc;
        j.fold_offset = c->fold_offset;
        j.image_len = (uint32_t)strlen(c->image);
        if (job->call.reducer->user) {
            size_t offset;
            weft__shared_find(job->call.reducer->user, 1, &j.user_region, &offset);
            j.user_offset = offset;
        }
    }
    c->desc_len = sizeof j + j.name_len + j.image_len + acc;
    unsigned char *m = c->desc = malloc(c->desc_len);
    if (!m) return WEFT_ENOMEM;
    memcpy(m, &j, sizeof j);
    memcpy(m + sizeof j, job->call.task->name, j.name_len);
    if (j.image_len) memcpy(m + sizeof j + j.name_len, c->image, j.image_len);
    if (acc) memcpy(m + sizeof j + j.name_len + j.image_len, c->identity, acc);
    return 0;
}

/* A rank's first batch of a call: its learnt batch size stays when the task is the one it
 * ran last (a call rarely changes what a task costs, and a wrong guess is halved after one
 * batch), so a call of many items does not start again from one item. */
static int first_batch(call *c, peer *p) {
    outgoing o = {0};
    int rc = sync_regions(p, &o);
    send_all(&o);
    if (rc) return rc;
    if (weft__tracing && (rc = weft__mpi_trace_tell(p->rank)) != 0) return rc;
    p->job_sent = 1;
    if (p->task != c->job->call.task) {
        p->task = c->job->call.task;
        p->batch = 1;
        p->recent_ns = 0;
    }
    return 0;
}

/* REDUCE items are tasks, or chunks of them (deterministic): the tasks of items [b, e). */
static void task_range(const weft__job *job, uint64_t b, uint64_t e, uint64_t *lo, uint64_t *hi) {
    *lo = job->call.chunked ? job->call.n_tasks * b / job->call.n : b;
    *hi = job->call.chunked ? job->call.n_tasks * e / job->call.n : e;
}

/* Input bytes of items [b, e). */
static size_t input_bytes(const weft__job *job, uint64_t b, uint64_t e) {
    if (job->call.kind == WEFT__JOB_BYTES) {
        size_t total = (e - b) * sizeof(uint64_t);
        for (uint64_t k = b; k < e; k++) total += job->call.in_bytes[k].size;
        return total;
    }
    uint64_t lo = b, hi = e;
    if (job->call.kind == WEFT__JOB_REDUCE) task_range(job, b, e, &lo, &hi);
    return (hi - lo) * job->call.in_size;
}

/* The next batch for a worker whose automatic size is `size`, of `sharers` workers. */
static int next_range(call *c, size_t size, uint64_t *b, uint64_t *e) {
    weft__job *job = c->job;
    uint64_t n = job->call.n;
    if (c->next >= n || weft__job_stopping(job)) return 0;
    int live = world.root_works; /* the workers that share what is left */
    for (int k = 0; k < world.n_peers; k++) live += !world.peers[k].dead;
    uint64_t want = job->batch_size ? (uint64_t)job->batch_size : weft__batch_tail(size, n - c->next, (size_t)(live ? live : 1), 1);
    *b = c->next;
    *e = n - c->next < want ? n : c->next + want;
    while (*e > *b + 1 && input_bytes(job, *b, *e) > BATCH_BYTES) *e = *b + (*e - *b) / 2;
    c->next = *e;
    return 1;
}

/* A buffer of at least `len` bytes for a batch to `p` (*cap: its size), or NULL. */
static unsigned char *buffer(peer *p, size_t len, size_t *cap) {
    unsigned char *m = p->n_spare ? p->spare[--p->n_spare] : NULL;
    *cap = m ? p->spare_cap[p->n_spare] : 0;
    if (*cap >= len) return m;
    free(m); /* its bytes are not needed */
    return weft__mpi_alloc(len, cap);
}

static int give(call *c, peer *p) {
    uint64_t b, e;
    if (!next_range(c, p->batch, &b, &e)) return 0;
    weft__job *job = c->job;
    int first = !p->job_sent;
    if (first && first_batch(c, p) != 0) {
        weft__job_abort(job, WEFT_ESYS, "mpi: could not send the shared regions to a rank");
        return 0;
    }
    size_t count = e - b, idx = job->call.index_of ? count * sizeof(uint64_t) : 0;
    size_t desc = first ? c->desc_len : 0;
    size_t len = sizeof(msg_batch) + desc + idx + input_bytes(job, b, e), cap = 0;
    unsigned char *m = len <= INT_MAX ? buffer(p, len, &cap) : NULL;
    if (!m) {
        weft__job_abort(job, WEFT_ENOMEM, "mpi: an item is too big for one message, or out of memory");
        return 0;
    }
    msg_batch h = {c->seq, b, e};
    memcpy(m, &h, sizeof h);
    if (desc) memcpy(m + sizeof h, c->desc, desc);
    unsigned char *at = m + sizeof h + desc;
    for (size_t k = 0; idx && k < count; k++) {
        uint64_t call_index = weft__job_call_index(job, b + k);
        memcpy(at + k * sizeof call_index, &call_index, sizeof call_index);
    }
    at += idx;
    if (job->call.kind == WEFT__JOB_BYTES) {
        for (uint64_t k = b; k < e; k++) {
            uint64_t size = job->call.in_bytes[k].size;
            memcpy(at, &size, sizeof size);
            at += sizeof size;
        }
        for (uint64_t k = b; k < e; k++)
            if (job->call.in_bytes[k].size) {
                memcpy(at, job->call.in_bytes[k].data, job->call.in_bytes[k].size);
                at += job->call.in_bytes[k].size;
            }
    } else {
        uint64_t lo = b, hi = e;
        if (job->call.kind == WEFT__JOB_REDUCE) task_range(job, b, e, &lo, &hi);
        if (hi > lo && job->call.in_size) memcpy(at, job->call.inputs + lo * job->call.in_size, (hi - lo) * job->call.in_size);
    }
    sent *s = &p->q[(p->q_head + p->q_len++) % MAX_DEPTH];
    s->begin = b;
    s->end = e;
    s->buf = m;
    s->cap = cap;
    MPI_Isend(m, (int)len, MPI_BYTE, p->rank, first ? TAG_JOB : TAG_BATCH, weft__mpi_comm, &s->req);
    return 1;
}

/* Batches a rank should have queued: the policy of every backend (core/batching.h), up to
 * what this ring holds. Rank 0 hands out more only between its own batches, so while it
 * works, a rank also needs enough queued to cover one of those: else it idles until rank
 * 0 looks again (with batches of equal length, it ran only every other one). */
static int depth_of(const peer *p) {
    int depth = weft__queue_depth(p->recent_ns);
    if (world.root_works && world.root_recent_ns && p->recent_ns) {
        uint64_t cover = world.root_recent_ns / p->recent_ns + 2;
        if (cover > (uint64_t)depth) depth = cover < MAX_DEPTH ? (int)cover : MAX_DEPTH;
    }
    return depth < MAX_DEPTH ? depth : MAX_DEPTH;
}

static void feed(call *c) {
    for (int gave = 1; gave && !weft__job_stopping(c->job);) {
        gave = 0;
        for (int k = 0; k < world.n_peers; k++) {
            peer *p = &world.peers[k];
            if (!p->dead && p->q_len < depth_of(p) && give(c, p)) gave = 1;
        }
    }
}

/* ---- replies */

static const unsigned char *take(const unsigned char **at, const unsigned char *end, size_t n) {
    if ((size_t)(end - *at) < n) return NULL;
    const unsigned char *p = *at;
    *at += n;
    return p;
}

static void on_done(call *c, peer *p, const unsigned char *m, size_t len) {
    weft__job *job = c->job;
    msg_done d;
    if (len < sizeof d || !p->q_len) return;
    memcpy(&d, m, sizeof d);
    sent *s = &p->q[p->q_head];
    MPI_Wait(&s->req, MPI_STATUS_IGNORE);
    if (p->n_spare < SPARES) {
        p->spare[p->n_spare] = s->buf;
        p->spare_cap[p->n_spare++] = s->cap;
    } else {
        free(s->buf);
    }
    p->q_head = (p->q_head + 1) % MAX_DEPTH;
    p->q_len--;
    const unsigned char *at = m + sizeof d, *end = m + len;
    const char *message = d.failed ? (const char *)take(&at, end, d.message_len) : NULL;
    for (int i = 0; i < d.n_statuses; i++) {
        msg_status ms;
        const unsigned char *h = take(&at, end, sizeof ms);
        if (!h) break;
        memcpy(&ms, h, sizeof ms);
        const char *text = (const char *)take(&at, end, ms.message_len);
        if (ms.index < job->call.n && text && ms.message_len && !text[ms.message_len - 1])
            weft__job_finish_remote(job, ms.index, ms.code, ms.status, NULL, 0, text);
    }
    if (d.failed)
        weft__job_finish_remote(job, d.index, d.code, d.status, NULL, 0,
                                message && d.message_len && !message[d.message_len - 1] ? message : "");
    size_t count = d.end - d.begin;
    if (job->call.kind == WEFT__JOB_REDUCE) { /* absent when the call could not run there */
        size_t acc = job->call.reducer->acc_size, n = job->call.chunked ? count : 1;
        const unsigned char *parts = take(&at, end, n * acc);
        for (size_t k = 0; parts && k < n; k++) {
            if (job->call.chunked) {
                memcpy(job->call.accs + (d.begin + k) * job->call.acc_stride, parts + k * acc, acc);
            } else {
                size_t slot = (size_t)p->rank % (size_t)weft_pool_n_jobs(job->pool);
                job->call.reducer->combine(job->call.accs + slot * job->call.acc_stride, parts, job->call.reducer->user);
            }
        }
    } else {
        const unsigned char *ok = take(&at, end, count);
        if (ok && job->call.kind == WEFT__JOB_MAP) {
            const unsigned char *outs = take(&at, end, count * job->call.out_size);
            if (outs) weft__job_finish_remote_run(job, d.begin, count, ok, outs);
        } else if (ok) {
            const unsigned char *sizes = take(&at, end, count * sizeof(uint64_t));
            for (size_t k = 0; sizes && k < count; k++) {
                uint64_t size;
                memcpy(&size, sizes + k * sizeof size, sizeof size);
                if (size == UINT64_MAX) continue;
                const unsigned char *data = take(&at, end, size);
                if (data && ok[k]) weft__job_finish_remote(job, d.begin + k, 0, 0, data, size, NULL);
            }
        }
    }
    c->done += count;
    if (weft__tracing) weft__trace_progress(job, job->call.n - c->next, c->done + job->served);
    if (job->on_batch) job->on_batch(job);
    p->recent_ns = weft__batch_recent(p->recent_ns, d.run_ns);
    if (!job->batch_size && count == p->batch) p->batch = weft__batch_next(p->batch, d.run_ns);
}

static peer *peer_of(int rank) {
    return rank >= 1 && rank <= world.n_peers ? &world.peers[rank - 1] : NULL;
}

/* Non-zero when process `pid` of this host has ended (gone, or a zombie not yet reaped). */
static int ended(int pid) {
    if (kill(pid, 0) != 0) return errno == ESRCH;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = '\0';
    const char *state = strrchr(stat, ')');
    return state && (state[1] == ' ') && (state[2] == 'Z' || state[2] == 'X');
}

/* A rank on this host whose process is gone: the call fails naming it, and the world is
 * broken (no MPI-1/2 call can go on without a rank). */
static void check_liveness(call *c) {
    const weft__mpi_rank *ranks = weft__mpi_ranks();
    for (int k = 0; k < world.n_peers; k++) {
        peer *p = &world.peers[k];
        const weft__mpi_rank *r = &ranks[p->rank];
        if (p->dead || !p->q_len || !weft__mpi_on_root_node(p->rank)) continue;
        if (!ended(r->pid)) continue;
        p->dead = 1;
        weft__mpi_broken = 1;
        char message[256], items[64];
        const sent *s = &p->q[p->q_head];
        unsigned long long first = weft__job_call_index(c->job, s->begin),
                           last = weft__job_call_index(c->job, s->end - 1);
        if (first == last)
            snprintf(items, sizeof items, "item %llu", first);
        else
            snprintf(items, sizeof items, "items %llu..%llu", first, last);
        snprintf(message, sizeof message,
                 "rank %d (pid %d on %s) died while running %s of the call; "
                 "the MPI job cannot go on without it and ends at exit",
                 p->rank, (int)r->pid, r->host, items);
        weft__job_finish_remote(c->job, p->q[p->q_head].begin, WEFT_ECRASHED, 0, NULL, 0, message);
        p->q_len = 0; /* its sends never complete: left as they are */
    }
}

/* Read one reply; wait up to `wait_ns` for it. 1 when one came.
 * One, not every reply there is: when ranks outnumber cores, each MPI_Iprobe that finds
 * nothing yields the CPU (Open MPI's mpi_yield_when_idle), so a look for a second reply
 * after the first handed the CPU to the rank that had just answered, which looked, found
 * nothing and yielded back: two wasted switches per round trip, half of it. The caller
 * (step) feeds the ranks and comes back while work is out. */
static int read_replies(call *c, uint64_t wait_ns) {
    uint64_t start = weft_plat_now_ns();
    long nap_ns = 10000;
    for (;;) {
        int flag = 0;
        MPI_Status st;
        if (MPI_Iprobe(MPI_ANY_SOURCE, TAG_DONE, weft__mpi_comm, &flag, &st) != MPI_SUCCESS) flag = 0;
        if (flag) {
            size_t len;
            peer *p = peer_of(st.MPI_SOURCE);
            unsigned char *m = weft__mpi_recv(&st, &world.inbox, &len);
            if (m && p && !p->dead) on_done(c, p, m, len);
            return 1;
        }
        uint64_t now = weft_plat_now_ns();
        if (now - world.checked_ns >= LIVENESS_NS) {
            world.checked_ns = now;
            check_liveness(c);
        }
        if (now - start >= wait_ns) return 0;
        if (now - start >= WEFT_MPI_POLL_NS) {
            struct timespec ts = {0, nap_ns};
            nanosleep(&ts, NULL);
            if (nap_ns < 500000) nap_ns += nap_ns / 2;
        }
    }
}

static int busy(void) {
    for (int k = 0; k < world.n_peers; k++)
        if (world.peers[k].q_len) return 1;
    return 0;
}

/* One round of a call: hand out batches, run one here, read replies (waiting up to
 * `max_wait_ms`, -1 as long as needed). 1 while work is out, 0 once none is. */
static int step(call *c, int max_wait_ms) {
    weft__job *job = c->job;
    feed(c);
    if (weft__job_check_stop(job) && !c->stop_sent) {
        c->stop_sent = 1;
        for (int k = 0; k < world.n_peers; k++)
            if (world.peers[k].q_len)
                MPI_Send(&c->seq, sizeof c->seq, MPI_BYTE, world.peers[k].rank, TAG_STOP, weft__mpi_comm);
    }
    uint64_t b, e;
    if (world.root_works && next_range(c, world.root_batch, &b, &e)) {
        uint64_t t0 = weft_plat_now_ns();
        weft__job_run(job, b, e, 0);
        uint64_t took = weft_plat_now_ns() - t0;
        world.root_recent_ns = weft__batch_recent(world.root_recent_ns, took);
        if (!job->batch_size && e - b == world.root_batch) world.root_batch = weft__batch_next(world.root_batch, took);
        c->done += e - b;
        /* every reply that came while this rank worked: reading one per own batch let
         * replies pile up unread, and a rank whose queue looked full here sat idle */
        while (read_replies(c, 0)) {
        }
    } else {
        if (!busy()) return 0;
        uint64_t wait = max_wait_ms < 0 ? LIVENESS_NS : (uint64_t)max_wait_ms * 1000000u;
        if ((job->progress.fn || job->progress.verbose > 0 || job->deadline_ns || job->watch_interrupts) &&
            wait > 20000000u)
            wait = 20000000u;
        read_replies(c, wait);
    }
    if (weft__job_progress_due(job)) weft__job_progress(job, c->done);
    return 1;
}

static void complete(call *c) {
    while (!c->rc && step(c, -1) > 0) {
    }
    for (int k = 0; k < world.n_peers; k++) world.peers[k].job_sent = 0;
    free(c->identity);
    free(c->desc);
    c->identity = NULL;
    c->desc = NULL;
    world.active = NULL;
    c->ended = 1;
}

static int start_call(call *c) {
    weft__job *job = c->job;
    if (weft__mpi_broken)
        return weft__set_error(WEFT_ECRASHED, "mpi: a rank died during an earlier call: this MPI job "
                                              "cannot run more calls (rerun it; a Memory keeps what was done)");
    c->seq = ++world.seq;
    if (world.root_task != job->call.task) { /* as first_batch does for the other ranks */
        world.root_task = job->call.task;
        world.root_batch = 1;
        world.root_recent_ns = 0;
    }
    int rc = weft__mpi_windows_sync(world.near, world.n_near);
    if (rc) return weft__set_error(rc, "mpi: could not make a shared window for a region on rank 0's node");
    outgoing o = {0}; /* new regions to the other ranks at once */
    for (int k = 0; k < world.n_peers && rc == 0; k++)
        if (!world.peers[k].dead) rc = sync_regions(&world.peers[k], &o);
    send_all(&o);
    if (rc) return weft__set_error(rc, "mpi: could not send the shared regions to the ranks");
    if (job->call.kind == WEFT__JOB_REDUCE) {
        const weft_reducer *r = job->call.reducer;
        void *fold;
        memcpy(&fold, &r->fold, sizeof fold);
        c->identity = malloc(r->acc_size);
        if (!c->identity) return weft__set_error(WEFT_ENOMEM, "mpi: out of memory");
        r->init(c->identity, r->user);
        if (world.n_peers && weft__mpi_locate(fold, &c->image, &c->fold_offset) != 0)
            return weft__set_error(WEFT_EINVAL, "weft_reduce on backend 'mpi': the reducer's fold is not "
                                                "in a loaded image of the program, so other ranks cannot find it");
    }
    if (describe_call(c) != 0) return weft__set_error(WEFT_ENOMEM, "mpi: out of memory");
    /* the outputs are written here as replies come, often for the first time: a page
     * fault per 4 KiB took 40 us on the VM this was measured on (0.08 us a task of 8
     * bytes), one per 2 MiB takes a few us a page */
    if (job->call.kind == WEFT__JOB_MAP && job->call.n * job->call.out_size >= HUGE_OUTPUTS)
        weft_plat_prefer_huge_pages(job->call.outputs, job->call.n * job->call.out_size);
    return 0;
}

static int mpi_submit(void *state, weft__job *job) {
    (void)state;
    job->backend_data = NULL;
    if (job->call.kind == WEFT__JOB_FOR) return WEFT_ENOSYS;
    if (job->call.n == 0) return 0;
    if (weft__current_job()) { /* a task of rank 0's own batch calls weft: it runs here */
        weft__job_run(job, 0, job->call.n, 0);
        return 0;
    }
    call *c = calloc(1, sizeof *c);
    if (!c) return WEFT_ENOMEM;
    if (pthread_mutex_lock(&world.lock) == EDEADLK && world.active) complete(world.active);
    c->job = job;
    world.active = c;
    job->backend_data = c;
    c->rc = start_call(c);
    if (c->rc) {
        complete(c);
        pthread_mutex_unlock(&world.lock);
    }
    return c->rc;
}

void weft__mpi_trace_gather(void) {
    /* a call of this thread runs (the trace stopped from one of rank 0's tasks): the ranks
     * are busy with its batches, so their parts are left out */
    if (pthread_mutex_lock(&world.lock) != 0) return;
    weft__mpi_trace_collect();
    pthread_mutex_unlock(&world.lock);
}

static int mpi_help(void *state, weft__job *job) {
    (void)state;
    call *c = job->backend_data;
    if (!c || c->ended) return 0;
    if (step(c, 20) > 0) return 1;
    complete(c);
    pthread_mutex_unlock(&world.lock);
    return 0;
}

static int mpi_finish(void *state, weft__job *job) {
    (void)state;
    call *c = job->backend_data;
    if (!c) return 0;
    if (!c->ended) {
        complete(c);
        pthread_mutex_unlock(&world.lock);
    }
    int rc = c->rc;
    free(c);
    job->backend_data = NULL;
    return rc;
}

static int mpi_run(void *state, weft__job *job) {
    int rc = mpi_submit(state, job);
    int rc2 = mpi_finish(state, job);
    return rc ? rc : rc2;
}

const weft_backend weft__backend_mpi = {
    .version = WEFT_BACKEND_VERSION,
    .name = "mpi",
    .caps = WEFT_CAP_PARALLEL | WEFT_CAP_ISOLATED,
    .state_size = sizeof(mpi_pool),
    .start = mpi_start,
    .run = mpi_run,
    .stop = mpi_stop,
    .submit = mpi_submit,
    .help = mpi_help,
    .finish = mpi_finish,
};
