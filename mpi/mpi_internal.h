/* Declarations shared by mpi/ files: the messages between rank 0 and the other ranks.
 * Not installed. Every message travels on MPI_COMM_WORLD (a duplicate, so the program's
 * own messages never mix with weft's); fixed headers first, then variable parts. */
#ifndef WEFT_MPI_INTERNAL_H
#define WEFT_MPI_INTERNAL_H

#include "../core/internal.h"

#include <mpi.h>
#include <stdint.h>

enum {
    TAG_REGION = 101, /* msg_region, then its bytes in TAG_REGION_DATA pieces */
    TAG_REGION_DATA,
    TAG_FORGET,      /* uint64 id: a region is gone */
    TAG_JOB,         /* a rank's first batch of a call: msg_batch + the call's description
                   (msg_job + task name + fold image name + the reducer's identity) + the
                   batch's [indices] + inputs */
    TAG_BATCH,       /* msg_batch + [indices] + inputs */
    TAG_STOP,        /* uint64 job sequence: the call stopped, skip the rest */
    TAG_EXIT,        /* leave */
    TAG_DONE,        /* other rank -> 0: msg_done + message + statuses + outputs */
    TAG_WINDOW,      /* msg_region: make its window on rank 0's node (window.c) */
    TAG_REGION_MAP,  /* msg_region_map: map rank 0's memory of a region */
    TAG_UNWINDOW,    /* uint64 id: free its window */
    TAG_TRACE,       /* msg_trace: record into a part, or stop and send it (trace.c) */
    TAG_TRACE_CLOCK, /* the pings that measure a rank's clock offset to rank 0's */
    TAG_TRACE_PART,  /* other rank -> 0: a piece of its part; an empty one ends it */
};

/* A rank waiting for a message polls (MPI_Iprobe) this long before it sleeps: replies to
 * small batches come within microseconds on a node, and a sleep costs a scheduler wake-up
 * (tens of microseconds) on top. When ranks outnumber cores, Open MPI's
 * mpi_yield_when_idle (on by itself then) yields the CPU inside each MPI_Iprobe that finds
 * nothing; a yield of weft's own on top doubled the round trip's wait there. */
#define WEFT_MPI_POLL_NS 2000000u

/* Region data moves in pieces of at most this many bytes (MPI counts are ints). */
#define WEFT_MPI_PIECE ((size_t)1 << 28)

typedef struct msg_region {
    uint64_t id, size;
} msg_region;

typedef struct msg_region_map {
    uint64_t id, size;
    uint64_t ino;    /* its file's, to know it is still the same file when opened */
    int32_t pid, fd; /* rank 0's process and the region's file descriptor there */
} msg_region_map;

typedef struct msg_job {
    uint64_t seq;
    uint32_t kind, level;
    uint64_t n, in_size, out_size;
    uint64_t base;             /* call index of item 0 (iterators' chunks) */
    uint32_t collect, indexed; /* indexed: batches carry their call indices */
    uint32_t chunked, retries;
    uint64_t n_tasks, acc_size;
    double task_timeout_s, retry_backoff_s;
    uint64_t deadline_left_ns; /* the call's time limit, left when sent; 0 none */
    uint64_t fold_offset;      /* REDUCE: fold, as an offset in its image */
    uint64_t user_region, user_offset;
    uint64_t trace_call;          /* the call's id in rank 0's trace, while one records */
    uint32_t name_len, image_len; /* the task's name and the fold's image follow */
} msg_job;

typedef struct msg_batch {
    uint64_t seq, begin, end; /* the job's items [begin, end) */
} msg_batch;

typedef struct msg_done {
    uint64_t seq, begin, end;
    uint64_t ran_to; /* items [begin, ran_to) ran */
    uint64_t run_ns;
    int32_t failed, code, status, n_statuses;
    uint64_t index; /* of the failure (a task index for reductions) */
    uint32_t message_len, pad;
} msg_done;

typedef struct msg_status {
    uint64_t index;
    int32_t code, status;
    uint32_t message_len, pad;
} msg_status;

/* ---- world.c */
typedef struct weft__mpi_rank {
    int32_t pid;
    int32_t share; /* how regions reach this rank: SHARE_ (window.c) */
    char host[56];
} weft__mpi_rank;

extern MPI_Comm weft__mpi_comm;
/* Every rank's pid and host (on rank 0; the others know only their own). */
const weft__mpi_rank *weft__mpi_ranks(void);
/* Whether `rank` runs on rank 0's node (the same host name): it sees rank 0's processes. */
int weft__mpi_on_root_node(int rank);
/* Non-zero once a rank died: the world cannot run calls any more. */
extern int weft__mpi_broken;

/* ---- server.c: the other ranks' loop; returns when rank 0 says so. */
void weft__mpi_serve(int rank);

/* ---- window.c: regions once per node */
enum {
    SHARE_SEND,   /* messages with the region's bytes (TAG_REGION) */
    SHARE_WINDOW, /* an MPI-3 shared window on rank 0's node (TAG_WINDOW) */
    SHARE_MAP,    /* rank 0's own memory, mapped (TAG_REGION_MAP) */
};
extern MPI_Comm weft__mpi_node;
/* Every rank, at init: how regions reach this rank. 0 or -1. */
int weft__mpi_windows_start(int *share);
/* Rank `pid`'s file descriptor `fd`, opened here, when it is still the file `ino` (0: any);
 * -1 when refused or another file. */
int weft__mpi_open_region(int pid, int fd, uint64_t ino);
/* The inode number of file descriptor `fd` here (0 unknown). */
uint64_t weft__mpi_inode(int fd);
/* Rank 0, between calls: a window for each new region of the user, for the ranks `near`
 * (of rank 0's node); the windows of regions freed are freed. 0 or a WEFT_ error. */
int weft__mpi_windows_sync(const int *near, int n_near);
int weft__mpi_window_has(uint64_t id);
/* The other ranks of rank 0's node: their part of TAG_WINDOW and TAG_UNWINDOW. */
void weft__mpi_window_adopt(int rank, const unsigned char *p, size_t len);
void weft__mpi_window_forget(const unsigned char *p, size_t len);
/* Every rank, at the end: the windows left, then the node's communicator. */
void weft__mpi_windows_end(void);

/* ---- symbols.c: a function of the program, the same on every rank */
/* Where `fn` lies: its image's path (static storage) and its offset there; 0 or -1. */
int weft__mpi_locate(const void *fn, const char **image, uint64_t *offset);
/* The function at `offset` of `image` in this process, or NULL. */
void *weft__mpi_resolve(const char *image, uint64_t offset);

/* A receive buffer kept from one message to the next: fresh memory costs a page fault
 * per page, which dwarfs the copy of a batch. */
typedef struct weft__mpi_inbox {
    unsigned char *p;
    size_t cap;
} weft__mpi_inbox;
/* At least `n` bytes (*cap of them), or NULL. From 1 MiB on, whole 2 MiB pages with huge
 * pages preferred: buffers that grow with the batches are touched for the first time in
 * the first large call, and a 4 KiB page fault took 40 us on the VM measured here (a
 * 2 MiB one, 2.7 us per 4 KiB of it). */
void *weft__mpi_alloc(size_t n, size_t *cap);
/* `n` bytes of `box`, grown as needed (its bytes are not kept then), or NULL. */
void *weft__mpi_grow(weft__mpi_inbox *box, size_t n);
/* Receive the message `st` describes into `box`, grown as needed: its bytes (*len of
 * them, valid until the next receive into `box`), or NULL. */
unsigned char *weft__mpi_recv(const MPI_Status *st, weft__mpi_inbox *box, size_t *len);

/* ---- trace.c: the ranks in rank 0's trace */
/* Rank 0, before a rank's first batch of a call: while a trace records, have it record
 * too (once per trace). 0 or a WEFT_ error. */
int weft__mpi_trace_tell(int rank);
/* Rank 0, no call running: every rank's part, into the trace's part files (as the trace
 * stops, or before the ranks leave). */
void weft__mpi_trace_collect(void);
/* The same, once no call runs (backend_mpi.c: it holds the world's lock meanwhile). */
void weft__mpi_trace_gather(void);
/* Other ranks: TAG_TRACE. */
void weft__mpi_trace_serve(int rank, const unsigned char *p, size_t len);

extern const weft_backend weft__backend_mpi;
#endif
