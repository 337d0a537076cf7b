/* Declarations shared by native/ files (the processes backend). Not installed. */
#ifndef WEFT_NATIVE_H
#define WEFT_NATIVE_H

#include "../core/internal.h"
/* XXH3-128 of a buffer (memory/hash.c): the processes backend knows big inputs by it. */
void weft__hash128(const void *data, size_t n, uint8_t out[16]);

#include <stdint.h>
#include <sys/types.h>

/* ---- ring.c: a byte stream in shared memory, one writer process and one reader */
#define WEFT__RING_BYTES ((size_t)1 << 17)
typedef struct weft__ring {
    _Alignas(64) _Atomic uint64_t head; /* bytes written so far */
    _Atomic uint32_t reader_sleeps;     /* WEFT__SLEEPS_*: the reader waits, wake it */
    _Atomic uint32_t bell;              /* the futex a reader sleeps on */
    _Atomic int32_t writer_cpu;         /* the CPU the writer ran on at its last write */
    _Alignas(64) _Atomic uint64_t tail; /* bytes read so far */
    _Atomic uint32_t writer_sleeps;     /* the writer waits for room: wake it */
    _Alignas(64) unsigned char data[WEFT__RING_BYTES];
} weft__ring;

enum { WEFT__SLEEPS_POLL = 1, /* in poll() on its socket */
       WEFT__SLEEPS_FUTEX };  /* on the ring's bell */

/* Bytes there to read; room there to write. */
size_t weft__ring_used(weft__ring *r);
size_t weft__ring_room(weft__ring *r);
/* Up to n bytes out of / into the ring: how many moved, and whether the other side
 * sleeps and must be woken now. */
size_t weft__ring_read(weft__ring *r, void *to, size_t n, int *wake_writer);
size_t weft__ring_write(weft__ring *r, const void *from, size_t n, int *wake_reader);
/* Sleep on the bell until bytes come, up to timeout_ms (-1: no limit; a signal ends it
 * too): 1 when bytes are there. */
int weft__ring_wait_bytes(weft__ring *r, int timeout_ms);
/* About to sleep in poll() for bytes (for room): 1 with the flag raised, or 0 when
 * bytes (room) came meanwhile; the awake_ calls lower the flag after the sleep. */
int weft__ring_sleep_reader(weft__ring *r);
int weft__ring_sleep_writer(weft__ring *r);
void weft__ring_awake_reader(weft__ring *r);
void weft__ring_awake_writer(weft__ring *r);

/* ---- wire.c: length-prefixed frames through a pair of rings; a unix stream socket
 * beside them wakes a sleeping side, passes fds, and tells when the other side is gone */
typedef struct weft__wire {
    int fd;
    weft__ring *tx, *rx;
    unsigned char *in;
    size_t in_len, in_pos, in_cap;
    unsigned char *out;
    size_t out_len, out_cap;
    int *fds; /* received, not yet taken */
    int n_fds, cap_fds;
} weft__wire;

void weft__wire_init(weft__wire *w, int fd, weft__ring *tx, weft__ring *rx);
/* Close the socket and any fd received but not taken; free the buffers. */
void weft__wire_close(weft__wire *w);
/* Append a frame to the send buffer (0, or -ENOMEM). */
int weft__wire_put(weft__wire *w, uint32_t type, const void *a, size_t a_len, const void *b,
                   size_t b_len);
/* Send `fd` now and append a frame that goes with it: the other side's weft__wire_take_fd
 * gives it when that frame is read. 0 or -errno. */
int weft__wire_put_fd(weft__wire *w, uint32_t type, const void *a, size_t a_len, int fd);
/* Write everything buffered, waiting for room in the ring if need be. 0 or -errno
 * (-EPIPE when the other side is gone). */
int weft__wire_flush(weft__wire *w);
/* Non-zero when bytes wait in the ring (no system call: for spinning). */
int weft__wire_ready(weft__wire *w);
/* The CPU the other side ran on when it last wrote (for spin.c), or -1. */
int weft__wire_peer_cpu(weft__wire *w);
/* Before a poll() on several wires' sockets: 1 when bytes came meanwhile (do not sleep),
 * else 0 with this side marked asleep, so the next write rings the socket. */
int weft__wire_arm(weft__wire *w);
void weft__wire_disarm(weft__wire *w);
/* Sleep until bytes are in the ring (1), the other side is gone (-EPIPE; what it wrote
 * before is read first), or timeout_ms passed or a signal came (0); -1: no limit. The
 * other side's death is looked for every check_ms. */
int weft__wire_wait(weft__wire *w, int timeout_ms, int check_ms);
/* Read the socket's wake-ups without waiting: 0 when the other side is gone, else 1. */
int weft__wire_alive(weft__wire *w);
/* Read what the ring holds, else sleep until bytes come: >0 bytes read, 0 at end of
 * stream (the other side is gone and said everything), -errno on error. */
ssize_t weft__wire_fill(weft__wire *w);
/* The same with MSG_DONTWAIT in flags: -EAGAIN at once when nothing is there. */
ssize_t weft__wire_fill_flags(weft__wire *w, int flags);
/* The next complete buffered frame: 1 with its type and payload (valid until the next
 * fill), or 0 when more bytes are needed. */
int weft__wire_next(weft__wire *w, uint32_t *type, const unsigned char **payload, size_t *len);
/* The oldest fd sent with a frame already read (waits for it on the socket), or -1. */
int weft__wire_take_fd(weft__wire *w);

/* ---- spin.c: `look(arg)` until it is non-zero (returned) or for up to spin_ns (0),
 * giving the CPU to others between looks; only briefly while this CPU is in demand, and
 * not at all when it is `peer_cpu`, where the process that answers last wrote from (-1:
 * not known) */
int weft__spin_wait(int (*look)(void *), void *arg, uint64_t spin_ns, int peer_cpu);
/* A worker, each time work came: the other side wrote it from `peer_cpu`. When that keeps
 * being this worker's own CPU, the worker moves to another CPU it may run on. */
void weft__spin_apart(int peer_cpu);

/* ---- the protocol between a pool and its workers */
enum {
    WIRE_REGION = 1, /* parent -> worker: {id, size} + fd: a shared region */
    WIRE_FORGET,     /* {id}: a region is gone */
    WIRE_JOB,        /* wire_job + task name: the call that the next batches belong to */
    WIRE_BATCH,      /* {begin, end}: run these items */
    WIRE_EXIT,       /* leave */
    WIRE_OUTPUT,     /* worker -> parent: {index} + bytes: a BYTES item's output */
    WIRE_DONE,       /* wire_done [+ message]: a batch went through */
    WIRE_STATUS,     /* wire_status + message: a failed item, in collect-all mode */
    WIRE_TRACE,      /* parent -> worker, before WIRE_JOB: wire_trace + part file path
                        (empty: stop tracing) */
};

typedef struct wire_trace {
    uint64_t call; /* the parent's id of the call (core/trace.c) */
} wire_trace;

typedef struct wire_region {
    uint64_t id, size;
} wire_region;

typedef struct wire_job {
    uint32_t kind, level;
    int32_t timeout_ms, retries; /* the worker retries a failing task itself */
    double retry_backoff_s;
    uint64_t n, in_size, out_size;
    uint64_t in_region, in_offset;     /* MAP: items; BYTES: the table, then the data */
    uint64_t out_region, out_offset;   /* MAP only */
    uint64_t task_addr;                /* the parent's weft_task_def, for tasks registered
                                        after the fork server started */
    uint64_t base;                     /* index of item 0 in the caller's stream (iterators) */
    uint32_t collect;                  /* failures become statuses (WIRE_STATUS) */
    uint32_t chunked;                  /* REDUCE: items are chunks of n_tasks tasks */
    uint64_t n_tasks, acc_stride;      /* REDUCE */
    uint64_t acc_region, acc_offset;   /* REDUCE: the accumulators, folded into in place */
    uint64_t fold_addr;                /* REDUCE: the reducer's fold, at the parent's address */
    uint64_t user_region, user_offset; /* REDUCE: reducer.user, when there is one */
    uint64_t idx_region, idx_offset;   /* MAP, BYTES narrowed by Memory: item j is the
                                          call's item base + idx[j] (uint64 each) */
    uint32_t indexed;                  /* idx_* are set */
    uint32_t report_each;              /* a crash must not lose what ran: replies go out before
                                          each batch, BYTES outputs and statuses after each item */
} wire_job;

typedef struct wire_status {
    uint64_t index;
    int32_t code, status;
} wire_status;

typedef struct wire_batch {
    uint64_t begin, end;
    uint64_t spent_task; /* a task retried after its worker died, or WEFT__IDLE */
    uint32_t spent, pad; /* attempts it already had: its own retries here are fewer */
} wire_batch;

typedef struct wire_done {
    uint64_t begin, end;
    uint64_t ran_to; /* items [begin, ran_to) ran (the failing one included) */
    uint64_t run_ns; /* how long the worker spent on the batch */
    int32_t failed;  /* this batch carries the job's failure */
    int32_t code, status, pad;
    uint64_t index; /* of the failure; the message follows */
} wire_done;

/* Where a BYTES map's inputs sit inside their region: one entry per item. */
typedef struct wire_item {
    uint64_t offset, size;
} wire_item;

/* A page shared by the parent and one worker. The worker runs its tasks against `job`,
 * its own copy of the call (pointers valid in the worker only); the parent only ever
 * writes job.stop, so a task polling weft_cancelled sees another worker's failure at once,
 * and reads `current`, so a crash or a timeout can name the task. */
#define WEFT__IDLE UINT64_MAX
typedef struct weft__ctrl {
    _Atomic uint64_t current;    /* index of the item running now, or WEFT__IDLE */
    _Atomic uint64_t task;       /* the task running now (a chunked reduction's items are
                                    chunks of tasks; elsewhere the same as current) */
    _Atomic uint64_t started_ns; /* when it started (only with a task timeout) */
    _Atomic uint32_t attempts;   /* attempts at `task` so far in this worker */
    weft__job job;
    weft__ring to_worker, to_parent; /* the wire's two directions */
} weft__ctrl;

/* ---- worker.c */
typedef struct weft__worker_args {
    int32_t id;      /* 0 .. n_workers - 1 */
    int32_t share;   /* CPUs for this worker's own threads: max(1, CPUs / workers) */
    int32_t idle_ms; /* leave after this long without work; 0 never */
    int32_t pad;
} weft__worker_args;

/* The worker process: serve `sock` until told to leave or the parent goes away. */
__attribute__((noreturn)) void weft__worker_main(const weft__worker_args *a, int sock, int ctrl_fd,
                                                 int fork_server);

/* ---- forkserver.c: start workers without fork() in a threaded process */
/* Start a worker running weft__worker_main(args, sock, ctrl_fd): forked by the fork server
 * that weft started before main(), or, where there is none, forked from here (the child
 * then closes `parent_end`, this side's end of its socket). The fds stay open here (close
 * them after). 0 and *pid, or -errno. */
int weft__spawn_worker(const weft__worker_args *args, int sock, int ctrl_fd, int parent_end,
                       pid_t *pid);
/* Wait up to `wait_ms` for worker `pid` to be gone and tell how it ended (a waitpid()
 * status). 0, or -ETIMEDOUT / -ECHILD. Every spawned worker must be reaped here once. */
int weft__reap_worker(pid_t pid, int wait_ms, int *status);
/* Non-zero when workers come from the fork server. */
int weft__fork_server_running(void);
#endif
