/* The log store's parts (native builds only): the vtable (memory/store_log.c), its files
 * (segments, records, task names, the writers' lock: memory/store_log_file.c), the index
 * every process maps (memory/store_log_index.c) and eviction (memory/store_log_evict.c).
 * The design is in memory/store_log.c's opening comment and docs/cache-format.md. */
#ifndef WEFT_STORE_LOG_H
#define WEFT_STORE_LOG_H

#include "store.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#define LOG_SEG_MAX (64u << 20) /* a segment's size, at most (a batch may end past it) */
#define LOG_SEG_PREFIX "seg-"
#define LOG_SEG_SUFFIX ".wfl"
#define LOG_TASKS_FILE "weft.tasks" /* task names, one a line (escaped): line k is task id k */
#define LOG_LOCK_FILE "weft.lock"   /* flock'd by writers */
#define LOG_TASKS 1024              /* task ids 1..LOG_TASKS-1 */
#define LOG_MAGIC "WEFTIDX1"
#define LOG_VERSION 1
#define LOG_HEADER_BYTES 65536 /* the header page, then the per-task totals */
#define LOG_FIRST_CAPACITY (1u << 14)

/* The index's first page, shared by every process that maps it. Counters change under
 * the writers' lock (flock) and are read without it (atomics). */
typedef struct log_header {
    char magic[8];
    uint32_t version, header_bytes;
    uint64_t capacity;               /* slots, a power of two */
    uint64_t used;                   /* slots taken (the load that makes the index grow) */
    uint64_t moved;                  /* non-zero: a larger index replaced this one (reopen) */
    uint64_t dirty;                  /* a writer is mid-update (or died there): recount */
    int64_t live_count, live_bytes;  /* entries and their bytes */
    uint64_t active_seg, active_off; /* where the next record goes */
    uint64_t hand_seg, hand_off;     /* the eviction hand: every record before it is dead */
    uint64_t punched_off;            /* hand_seg's bytes given back to the file system */
} log_header;

typedef struct log_total {
    int64_t n, bytes, compute, newest;
} log_total;

/* A slot: the key's first 8 bytes (never 0), the record's location (segment << 32 |
 * offset; 0: an empty slot) and the last use (ns). */
typedef struct log_slot {
    uint64_t tag, loc;
    int64_t atime;
} log_slot;

/* One mapping of the index file. A replaced one stays mapped until close (a reader
 * thread may still be probing it). */
typedef struct log_index {
    int fd;
    unsigned char *base;
    size_t size;
    log_header *h;
    log_total *totals;
    log_slot *slots;
    uint64_t mask;
    dev_t dev;
    ino_t ino;
    struct log_index *older;
} log_index;

/* A segment's mapping in this process: LOG_SEG_MAX bytes of address space, of which
 * `known` are known to be in the file (a read past them checks the file's size first). */
typedef struct log_seg {
    _Atomic(const unsigned char *) p;
    atomic_uint_fast64_t known;
} log_seg;
#define LOG_SEG_CHUNK 1024
#define LOG_SEG_CHUNKS 4096

typedef struct log_state {
    char *root;
    void *files; /* the disk store's state on the same folder: large values, versions */
    int read_only;
    int lock_fd;
    int lock_pid;             /* the process that opened lock_fd (a forked child opens its own) */
    weft_plat_mutex lock;     /* this process's writers */
    weft_plat_mutex map_lock; /* segment mappings, index reopening, task names */
    _Atomic(log_index *) idx;
    _Atomic(log_seg *) segs[LOG_SEG_CHUNKS];
    char *names[LOG_TASKS]; /* names[k]: task id k (1..) */
    atomic_int n_names;     /* ids known: 1..n_names-1 */
    int seg_fd;             /* the active segment, open for appending (writers) */
    uint64_t seg_fd_num;
    unsigned char *buf; /* a batch's records (writers) */
    size_t buf_size;
    int recount_due; /* a slot of an unreadable record was emptied: its totals are unknown */
} log_state;

/* Records: a 40-byte header, then the data; each padded to 8 bytes. */
#define REC_HEAD 40
#define REC_MAGIC 0x4c57u
typedef struct log_rec {
    uint16_t task;
    uint32_t length; /* header and data, unpadded */
    uint8_t key[16];
    int64_t stamp;         /* when written (or moved by the eviction hand) */
    uint32_t packing;      /* memory/entry_pack.h; 0: a large value, a file */
    int64_t size, compute; /* the entry's */
    const unsigned char *data;
    uint64_t loc; /* where it was read (weft__log_record) */
} log_rec;

static inline uint64_t log_loc(uint64_t seg, uint64_t off) { return seg << 32 | off; }
static inline uint64_t log_tag(const uint8_t key[16]) {
    uint64_t t;
    memcpy(&t, key, 8);
    return t ? t : 1;
}

/* A tag's first slot (keys are hashes: their bits are mixed already). */
static inline uint64_t log_home(const log_index *x, uint64_t tag) { return (tag ^ tag >> 29) & x->mask; }

/* ---- store_log_index.c (writers hold the lock, except where said) */
/* Open the index (creating or rebuilding it from the segments when it is missing or
 * damaged; a damaged one is moved aside): 0 or WEFT_E*. */
int weft__log_index_open(log_state *s, int writable);
/* The index to read (lock-free; a moved one is reopened): NULL when there is none. */
log_index *weft__log_index(log_state *s);
/* Under the writers' lock: the newest index, its counters right. 0 or WEFT_E*. */
int weft__log_index_settle(log_state *s);
/* The slot of a key (lock-free): its index, or -1. *rec: its record. */
int64_t weft__log_find(log_state *s, log_index *x, const uint8_t key[16], log_rec *rec);
/* Point the key at loc (writer); *old: the location it replaced, or 0. 0 or WEFT_E*. */
int weft__log_insert(log_state *s, const uint8_t key[16], uint64_t loc, int64_t atime, uint64_t *old);
/* Empty a slot (writer), shifting its cluster back. */
void weft__log_delete(log_index *x, uint64_t i);
/* Totals: an entry in or out (writer). */
void weft__log_count(log_index *x, const log_rec *r, int sign);
/* Under the writers' lock: the table made again and the totals counted from the records. */
int weft__log_recount(log_state *s);
void weft__log_index_close(log_state *s);

static inline size_t log_pad8(size_t n) { return (n + 7) & ~(size_t)7; }

/* A put waiting in s->buf for its slot, and a large value's file to remove once the
 * writers' lock is let go (its slot went first). */
typedef struct log_pending {
    size_t put, at; /* the put, and where its record lies in s->buf */
    log_rec rec;
} log_pending;
typedef struct log_gone {
    uint16_t task;
    uint8_t key[16];
} log_gone;

/* ---- store_log_file.c */
int weft__log_esys(int e, const char *what, const char *path);
int weft__log_seg_path(const log_state *s, uint64_t seg, char *buf, size_t size);
log_seg *weft__log_seg_slot(log_state *s, uint64_t seg);
/* A segment's mapping (made on first use); NULL when the segment is not there or holds
 * fewer than `need` bytes (its size is checked again when they pass what is known). */
const unsigned char *weft__log_seg_map(log_state *s, uint64_t seg, uint64_t need);
/* A segment's size now (a stat: another process may have appended to it), or 0. */
uint64_t weft__log_seg_size(log_state *s, uint64_t seg);
/* Write a record header at p (its checksum last). */
void weft__log_rec_head(unsigned char *p, uint16_t task, uint32_t length, const uint8_t key[16], int64_t stamp,
                        uint32_t packing);
/* Parse a record's bytes (at most `room` of them): 0 or WEFT_ECORRUPT. */
int weft__log_rec_parse(const unsigned char *p, uint64_t room, log_rec *r);
/* The record at loc (lock-free): 0, or WEFT_ECORRUPT (nothing readable there). */
int weft__log_record(log_state *s, uint64_t loc, log_rec *r);
/* Every record of the segments in order, for a rebuild: fn per record. */
int weft__log_scan(log_state *s, void (*fn)(log_state *, uint64_t loc, const log_rec *, void *),
                   void *user, uint64_t *first_seg, uint64_t *last_seg);
/* Task names: the file read again (new lines only); a task's id (> 0, or 0: none, and
 * `create` adds it, with the writers' lock held); an id's name, or NULL. */
void weft__log_load_names(log_state *s);
int weft__log_task_id(log_state *s, const char *task, int create);
const char *weft__log_task_name(log_state *s, unsigned id);
/* The writers' lock (this process's mutex, then flock), the index settled and marked
 * dirty: 0 or WEFT_E*; and its release. */
int weft__log_lock(log_state *s);
void weft__log_unlock(log_state *s);
/* s->buf grown to n bytes (lock held): 0 or WEFT_ENOMEM. */
int weft__log_buf_for(log_state *s, size_t n);
/* Write n bytes of records at the log's end (lock held): 0 and *loc, or WEFT_E*
 * (nothing written). A batch that would pass the segment's size starts the next. */
int weft__log_append(log_state *s, const unsigned char *b, size_t n, int fsync, uint64_t *loc);
/* Delete the segments [from, seg) (lock held). */
void weft__log_drop_segments(log_state *s, uint64_t from, uint64_t seg);
/* Remove large values' files (after the lock). */
void weft__log_remove_files(log_state *s, const log_gone *g, size_t n);

/* ---- store_log_evict.c */
int weft__log_evict(void *state, int64_t max_bytes, int64_t max_items, int64_t before_ns,
                    weft__store_evicted *out);
#endif
