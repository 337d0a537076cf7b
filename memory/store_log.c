/* The log store (native builds): a cache folder whose small entries are records appended
 * to segment files, ROOT/seg-NNNNNNNN.wfl (up to 64 MiB each), found through one hash
 * index every process maps, ROOT/weft.idx (memory/store_log_index.c). A value over
 * WEFT__PACKED_MAX_INLINE bytes stays a file exactly where the disk store keeps it, and
 * its record holds only its size. Why a log: a B-tree (the packed store, SQLite) writes
 * a random page per random key; a log writes each batch once, at its end
 * (bench/run_memory.sh's scale table, docs/cache-format.md).
 *
 * A record is a 40-byte header (a magic, the task's id, the length, the full key, when it
 * was written, the packing, a checksum of the header) and the entry less what the header
 * already says (memory/entry_pack.h); a read gives the very bytes written.
 *
 * Writers take this process's mutex, then flock ROOT/weft.lock (the kernel drops it when
 * a writer dies): a batch of puts is one write() at the log's end, then its slots are
 * published. Readers take no lock and make no system call on a hit: they probe the
 * mapped index, read the record from the mapped segment, and check its header and full
 * key; a record that does not match while its slot still points at it is corrupt
 * (Memory then removes and recomputes it), one whose slot moved meanwhile is a miss.
 * Segments are mapped once (64 MiB of address space each); a location past what this
 * process knows of a segment's size is checked against the file first.
 *
 * Eviction is a clock hand that walks the log from its oldest record: a dead record (its
 * slot points elsewhere) is passed, an expired one or, while over a limit, one not used
 * since written is dropped, a used one is written again at the end (a second chance).
 * Segments the hand passed are deleted; the part of the one it stops in is given back
 * (a punched hole). Its cost is the records it passes, not the entries kept. Totals
 * per task live in the index header: stats read no record.
 *
 * A writer killed midway leaves at most records no slot points to (space, never a
 * value) and the index's dirty flag (the next writer counts again); a damaged index is
 * moved aside and rebuilt from the segments (entries removed since may come back: each
 * is still checked as any other). A process keeps the segments and index files it
 * mapped until it closes the store, even when another process deleted them. */
#define _GNU_SOURCE
#include "store_log.h"

#include "entry_pack.h"
#include "store_packed.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define LIST_PAGE 1024
#define MAX_SMALL (1u << 20) /* an entry (header and value) larger than this is a file */

static int is_large(size_t hs, size_t vs) {
    return vs > WEFT__PACKED_MAX_INLINE || hs < 16 || hs + vs > MAX_SMALL || hs > (UINT32_MAX >> WEFT__PACK_BITS);
}

/* ---- the vtable */

static int log_open(void *state, const char *location) {
    log_state *s = state;
    s->seg_fd = s->lock_fd = -1;
    int rc = weft__packed_env_check();
    if (rc) return rc;
    rc = weft__disk_prepare(location, WEFT__LOG_MARKER_TEXT, &s->read_only);
    if (rc) return rc;
    int kind = weft__disk_marker_kind(location);
    if (kind < 0)
        return weft__set_error(WEFT_ESYS, "cannot read the marker of the cache folder '%s': %s", location, weft_plat_strerror(kind));
    if (kind != WEFT__MARKER_LOG)
        return weft__set_error(WEFT_EINVAL, "'%s' is a weft cache of another store (%s): open it as it is, or convert a file-per-entry one with `weft cache migrate %s`",
                               location, kind == WEFT__MARKER_PACKED ? "packed" : "a file per entry", location);
    size_t n = strlen(location);
    while (n > 1 && location[n - 1] == '/') n--;
    if (!(s->root = malloc(n + 1)) || !(s->files = calloc(1, weft__store_disk.state_size))) {
        free(s->root);
        return WEFT_ENOMEM;
    }
    memcpy(s->root, location, n);
    s->root[n] = '\0';
    rc = weft__store_disk.open(s->files, s->root);
    char path[4200];
    snprintf(path, sizeof path, "%s/" LOG_LOCK_FILE, s->root);
    if (!rc && !s->read_only && (s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644)) < 0)
        rc = weft__log_esys(errno, "cannot open the cache lock", path);
    s->lock_pid = getpid();
    weft_plat_mutex_init(&s->lock);
    weft_plat_mutex_init(&s->map_lock);
    if (!rc) rc = weft__log_index_open(s, !s->read_only);
    if (!rc) weft__log_load_names(s);
    if (rc) {
        weft__log_index_close(s);
        if (s->lock_fd >= 0) close(s->lock_fd);
        weft__store_disk.close(s->files);
        free(s->files);
        free(s->root);
        weft_plat_mutex_destroy(&s->lock);
        weft_plat_mutex_destroy(&s->map_lock);
    }
    return rc;
}

static void log_close(void *state) {
    log_state *s = state;
    if (s->recount_due && weft__log_lock(s) == 0) { /* once, not per removal: O(slots) */
        weft__log_recount(s);
        weft__log_unlock(s);
    }
    weft__log_index_close(s);
    for (int c = 0; c < LOG_SEG_CHUNKS; c++) {
        log_seg *chunk = atomic_load(&s->segs[c]);
        for (int i = 0; chunk && i < LOG_SEG_CHUNK; i++) {
            const unsigned char *p = atomic_load(&chunk[i].p);
            if (p) munmap((void *)p, LOG_SEG_MAX);
        }
        free(chunk);
    }
    for (int i = 1; i < atomic_load(&s->n_names); i++) free(s->names[i]);
    if (s->seg_fd >= 0) close(s->seg_fd);
    if (s->lock_fd >= 0) close(s->lock_fd);
    free(s->buf);
    weft__store_disk.close(s->files);
    free(s->files);
    free(s->root);
    weft_plat_mutex_destroy(&s->lock);
    weft_plat_mutex_destroy(&s->map_lock);
}

/* ---- reads */

#define LARGE 1
/* One read without a lock, of task id tid: 0, LARGE (its file), WEFT_ENOTFOUND,
 * WEFT_ECORRUPT. */
static int get_one(log_state *s, weft__store_get *g, int tid) {
    for (int attempt = 0; tid && attempt < 4; attempt++) {
        log_index *x = weft__log_index(s);
        if (!x) return WEFT_ENOTFOUND;
        log_rec r;
        int64_t i = weft__log_find(s, x, g->key, &r);
        if (i < 0) {
            /* a slot of this key's tag whose record cannot be read, and that stays so in
             * an index still in use, is a damaged record: reported, so Memory removes it
             * and computes it again (a readable one is another key's, or this key's
             * stored meanwhile: a miss) */
            uint64_t tag = log_tag(g->key), j = log_home(x, tag);
            for (uint64_t n = 0; n <= x->mask; n++, j = (j + 1) & x->mask) {
                uint64_t loc = __atomic_load_n(&x->slots[j].loc, __ATOMIC_ACQUIRE);
                if (!loc) break;
                if (__atomic_load_n(&x->slots[j].tag, __ATOMIC_RELAXED) != tag) continue;
                log_rec bad;
                if (weft__log_record(s, loc, &bad) != 0 && __atomic_load_n(&x->slots[j].loc, __ATOMIC_ACQUIRE) == loc &&
                    !__atomic_load_n(&x->h->moved, __ATOMIC_ACQUIRE))
                    return WEFT_ECORRUPT;
            }
            return WEFT_ENOTFOUND;
        }
        if (r.task != tid) return WEFT_ENOTFOUND;
        g->last_access_ns = (int64_t)__atomic_load_n((uint64_t *)&x->slots[i].atime, __ATOMIC_RELAXED);
        if (!r.packing) return LARGE;
        int rc = weft__unpack(r.packing, r.data, r.length - REC_HEAD, g->key, &g->head, &g->value);
        /* the slot still points at the record read, in an index still in use: the record
         * was live all along, so no eviction gave its bytes back while they were copied */
        if (rc || (__atomic_load_n(&x->slots[i].loc, __ATOMIC_ACQUIRE) == r.loc &&
                   !__atomic_load_n(&x->h->moved, __ATOMIC_ACQUIRE)))
            return rc;
        free(g->head.data), free(g->value.data);
        g->head = g->value = (weft_bytes){NULL, 0};
    }
    return WEFT_ENOTFOUND;
}

static void log_get_many(void *state, weft__store_get *gets, size_t n) {
    log_state *s = state;
    const char *task = NULL;
    int tid = 0;
    for (size_t i = 0; i < n; i++) {
        weft__store_get *g = &gets[i];
        g->head = g->value = (weft_bytes){NULL, 0};
        g->last_access_ns = -1;
        if (!task || strcmp(task, g->task) != 0) /* a batch is mostly one task's */
            tid = weft__log_task_id(s, task = g->task, 0);
        g->rc = tid ? get_one(s, g, tid) : WEFT_ENOTFOUND;
        if (g->rc == LARGE) {
            int64_t at = g->last_access_ns;
            g->rc = weft__store_disk.get(s->files, g->task, g->key, &g->head, &g->value, &g->last_access_ns);
            g->last_access_ns = at;
        }
    }
}

static int log_get(void *state, const char *task, const uint8_t key[16], weft_bytes *head, weft_bytes *value,
                   int64_t *last_access_ns) {
    weft__store_get g = {.task = task, .key = key};
    log_get_many(state, &g, 1);
    *head = g.head;
    *value = g.value;
    *last_access_ns = g.last_access_ns;
    return g.rc;
}

/* ---- writes */

/* Publish the records in s->buf (lock held): one write, then their slots. */
static int flush(log_state *s, size_t used, log_pending *p, size_t n, int fsync, log_gone *gone, size_t *n_gone) {
    if (!used) return 0;
    uint64_t loc;
    int rc = weft__log_append(s, s->buf, used, fsync, &loc);
    for (size_t i = 0; !rc && i < n; i++) {
        uint64_t old;
        rc = weft__log_insert(s, p[i].rec.key, loc + p[i].at, p[i].rec.stamp, &old);
        log_index *x = atomic_load(&s->idx);
        log_rec was;
        if (!rc && old && weft__log_record(s, old, &was) == 0) {
            weft__log_count(x, &was, -1);
            if (!was.packing && p[i].rec.packing) {
                gone[*n_gone].task = was.task;
                memcpy(gone[(*n_gone)++].key, was.key, 16);
            }
        }
        if (!rc) weft__log_count(x, &p[i].rec, 1);
    }
    return rc;
}

#define NOT_STORED 1 /* a put's rc until its record is published */

static void log_put_many(void *state, weft__store_put *puts, size_t n, int fsync) {
    log_state *s = state;
    /* large values first, as files; their records follow (a kill between leaves a file
     * no record names: space, never a wrong value) */
    for (size_t i = 0; i < n; i++) {
        weft__store_put *p = &puts[i];
        p->rc = NOT_STORED;
        if (is_large(p->head_size, p->value_size) && !s->read_only) {
            int rc = weft__store_disk.put(s->files, p->task, p->key, p->head, p->head_size, p->value, p->value_size, fsync);
            if (rc) p->rc = rc;
        }
    }
    log_pending *pend = malloc((n ? n : 1) * sizeof *pend);
    log_gone *gone = malloc((n ? n : 1) * sizeof *gone);
    int rc = pend && gone ? weft__log_lock(s) : weft__set_error(WEFT_ENOMEM, "out of memory storing cache entries");
    int locked = rc == 0;
    size_t used = 0, k = 0, n_gone = 0;
    int64_t stamp = weft_plat_wall_ns();
    for (size_t i = 0; !rc && i < n; i++) {
        weft__store_put *p = &puts[i];
        if (p->rc != NOT_STORED) continue;
        int tid = weft__log_task_id(s, p->task, 1);
        if (!tid) {
            p->rc = weft__set_error(WEFT_ESYS, "cannot record the task '%.64s' in the cache '%s' (more than %d tasks, or the task file cannot be written)", p->task, s->root, LOG_TASKS - 1);
            continue;
        }
        int large = is_large(p->head_size, p->value_size);
        int f = large ? 0 : weft__pack_flags(p->head, p->head_size, p->key, p->value_size);
        size_t len = REC_HEAD + (large ? 16 : weft__pack_head_size(f, p->head_size) + p->value_size), room = log_pad8(len);
        log_header *h = atomic_load(&s->idx)->h;
        if (used && h->active_off + used + room > LOG_SEG_MAX) { /* the rest in the next segment */
            int frc = flush(s, used, pend, k, fsync, gone, &n_gone);
            for (size_t j = 0; j < k; j++) puts[pend[j].put].rc = frc;
            used = k = 0;
        }
        if ((rc = weft__log_buf_for(s, used + room))) break;
        unsigned char *b = s->buf + used;
        memset(b + len, 0, room - len);
        log_pending *q = &pend[k++];
        q->put = i;
        q->at = used;
        q->rec = (log_rec){.task = (uint16_t)tid, .length = (uint32_t)len, .stamp = stamp, .packing = large ? 0 : weft__packing(f, p->head_size), .size = (int64_t)(p->head_size + p->value_size)};
        memcpy(q->rec.key, p->key, 16);
        weft__entry e;
        q->rec.compute = weft__entry_parse(p->head, p->head_size, &e) == 0 ? e.compute_ns : 0;
        weft__log_rec_head(b, (uint16_t)tid, (uint32_t)len, p->key, stamp, q->rec.packing);
        if (large) {
            weft__put64(b + REC_HEAD, (uint64_t)q->rec.size);
            weft__put64(b + REC_HEAD + 8, (uint64_t)q->rec.compute);
        } else {
            weft__pack_head(b + REC_HEAD, f, p->head, p->head_size);
            if (p->value_size) memcpy(b + len - p->value_size, p->value, p->value_size);
        }
        used += room;
    }
    if (!rc) {
        int frc = flush(s, used, pend, k, fsync, gone, &n_gone);
        for (size_t j = 0; j < k; j++) puts[pend[j].put].rc = frc;
    }
    if (locked) weft__log_unlock(s);
    for (size_t i = 0; i < n; i++)
        if (puts[i].rc == NOT_STORED) puts[i].rc = rc ? rc : WEFT_ESYS;
    if (gone) weft__log_remove_files(s, gone, n_gone);
    free(pend);
    free(gone);
}

static int log_put(void *state, const char *task, const uint8_t key[16], const void *head, size_t head_size,
                   const void *value, size_t value_size, int fsync) {
    weft__store_put p = {task, key, head, value, head_size, value_size, 0};
    log_put_many(state, &p, 1, fsync);
    return p.rc;
}

/* The slot of (task, key) under the lock, including one whose record cannot be read
 * (what a remove after WEFT_ECORRUPT is for): its index, or -1. */
static int64_t slot_of(log_state *s, log_index *x, const char *task, const uint8_t key[16], log_rec *r) {
    int tid = weft__log_task_id(s, task, 0);
    int64_t i = weft__log_find(s, x, key, r);
    if (i >= 0) return r->task == tid ? i : -1;
    uint64_t tag = log_tag(key), j = log_home(x, tag);
    for (uint64_t n = 0; n <= x->mask; n++, j = (j + 1) & x->mask) {
        uint64_t loc = x->slots[j].loc;
        if (!loc) break;
        if (x->slots[j].tag == tag && weft__log_record(s, loc, r) != 0) {
            memset(r, 0, sizeof *r);
            return (int64_t)j;
        }
    }
    return -1;
}

static int log_remove(void *state, const char *task, const uint8_t key[16]) {
    log_state *s = state;
    int rc = weft__log_lock(s);
    if (rc) return rc;
    log_index *x = atomic_load(&s->idx);
    log_rec r;
    int64_t i = slot_of(s, x, task, key, &r);
    int large = 0;
    if (i >= 0) {
        if (r.length)
            weft__log_count(x, &r, -1);
        else
            s->recount_due = 1;
        large = r.length && !r.packing;
        weft__log_delete(x, (uint64_t)i);
    }
    weft__log_unlock(s);
    if (large) weft__store_disk.remove(s->files, task, key); /* the slot first: a file no slot names is never read */
    return i >= 0 ? 0 : WEFT_ENOTFOUND;
}

static int log_touch(void *state, const char *task, const uint8_t key[16], int64_t now_ns) {
    log_state *s = state;
    if (s->read_only) return 0; /* its index is mapped read-only: uses are not recorded */
    log_index *x = weft__log_index(s);
    int tid = weft__log_task_id(s, task, 0);
    log_rec r;
    int64_t i = x && tid ? weft__log_find(s, x, key, &r) : -1;
    if (i < 0 || r.task != tid) return WEFT_ENOTFOUND;
    uint64_t *at = (uint64_t *)&x->slots[i].atime, was = __atomic_load_n(at, __ATOMIC_RELAXED);
    /* the latest use wins; a slot moved meanwhile keeps its own */
    while ((int64_t)was < now_ns && !__atomic_compare_exchange_n(at, &was, (uint64_t)now_ns, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
    }
    return 0;
}

/* ---- listing: the slots a page at a time, reported outside any lock */

typedef struct listed {
    uint8_t key[16];
    uint16_t task;
    int large;
    int64_t size, atime;
} listed;

static int log_list(void *state, const char *task, weft__store_list_fn fn, void *user) {
    log_state *s = state;
    int only = task ? weft__log_task_id(s, task, 0) : -1;
    listed *page = malloc(LIST_PAGE * sizeof *page);
    if (!page) return WEFT_ENOMEM;
    int out = 0;
    log_index *x = weft__log_index(s);
    for (uint64_t from = 0; x && only != 0 && !out && from <= x->mask; from += LIST_PAGE) {
        size_t n = 0;
        for (uint64_t i = from; i <= x->mask && i < from + LIST_PAGE; i++) {
            uint64_t loc = __atomic_load_n(&x->slots[i].loc, __ATOMIC_ACQUIRE);
            log_rec r;
            if (!loc) continue;
            if (weft__log_record(s, loc, &r) != 0) {
                /* a damaged record (its segment cut short, gone, overwritten): listed under
                 * its tag, so a check finds it corrupt and a removal empties its slot */
                if (only > 0) continue;
                memset(&r, 0, sizeof r);
                uint64_t tag = __atomic_load_n(&x->slots[i].tag, __ATOMIC_RELAXED);
                memcpy(r.key, &tag, 8);
                r.packing = 1;
            } else if (only > 0 && r.task != only)
                continue;
            listed *l = &page[n++];
            memcpy(l->key, r.key, 16);
            l->task = r.task;
            l->large = !r.packing;
            l->size = r.size;
            l->atime = (int64_t)__atomic_load_n((uint64_t *)&x->slots[i].atime, __ATOMIC_RELAXED);
        }
        for (size_t i = 0; !out && i < n; i++) {
            /* a damaged record's task is not known: any task's name reaches its slot */
            const char *name = weft__log_task_name(s, page[i].task ? page[i].task : 1);
            if (!name) continue;
            char path[4200];
            weft__store_item it = {.task = name, .size = page[i].size, .last_access_ns = page[i].atime};
            memcpy(it.key, page[i].key, 16);
            if (page[i].large && weft__packed_file_path(s->root, name, it.key, path, sizeof path) == 0) it.path = path;
            out = fn(&it, user);
        }
    }
    free(page);
    /* files a killed writer left behind (large values) */
    if (!out)
        out = weft__store_disk.list(s->files, task, weft__packed_temps_only, &(weft__packed_filter){fn, user});
    return out;
}

static int log_remove_temp(void *state, const weft__store_item *item) {
    return weft__store_disk.remove_temp(((log_state *)state)->files, item);
}

static int log_clear(void *state, const char *task) {
    log_state *s = state;
    int rc = weft__log_lock(s);
    if (rc) return rc;
    int only = task ? weft__log_task_id(s, task, 0) : -1;
    log_index *x = atomic_load(&s->idx);
    for (uint64_t i = 0; only != 0 && i <= x->mask;) {
        uint64_t loc = x->slots[i].loc;
        log_rec r;
        int ok = loc && weft__log_record(s, loc, &r) == 0;
        if (loc && (only < 0 || (ok && r.task == only))) {
            if (ok) weft__log_count(x, &r, -1);
            weft__log_delete(x, i); /* another slot may have moved into i: looked at again */
            continue;
        }
        i++;
    }
    log_header *h = x->h;
    if (only < 0) { /* nothing left: the log starts again in a new segment */
        uint64_t from = h->hand_seg;
        h->active_seg++;
        h->active_off = 0;
        h->hand_seg = h->active_seg;
        h->hand_off = h->punched_off = 0;
        h->live_count = h->live_bytes = 0;
        memset(x->totals, 0, LOG_TASKS * sizeof(log_total));
        weft__log_drop_segments(s, from, h->active_seg);
        /* made now, so a rebuild (its index lost) starts after it: a process may still
         * map or append to the numbers before it, deleted */
        char path[4200];
        int fd = weft__log_seg_path(s, h->active_seg, path, sizeof path) ? -1
                                                                         : open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd >= 0) close(fd);
    }
    weft__log_unlock(s);
    return weft__store_disk.clear(s->files, task); /* large values, versions, litter, the journal */
}

static int log_get_meta(void *state, const char *task, const char *name, char *buf, size_t size) {
    return weft__store_disk.get_meta(((log_state *)state)->files, task, name, buf, size);
}

static int log_put_meta(void *state, const char *task, const char *name, const char *value) {
    return weft__store_disk.put_meta(((log_state *)state)->files, task, name, value);
}

static int log_side_path(void *state, const char *name, char *buf, size_t size) {
    return weft__store_disk.side_path(((log_state *)state)->files, name, buf, size);
}

static int log_read_only(void *state) { return ((log_state *)state)->read_only; }

/* ---- version 3: totals from the index header; eviction by the clock hand */

static int log_summary(void *state, weft__store_summary_fn fn, void *user, int64_t *disk_bytes) {
    log_state *s = state;
    log_index *x = weft__log_index(s);
    weft__log_task_name(s, 0); /* names made by other processes */
    int out = 0, n = atomic_load(&s->n_names);
    for (int t = 1; x && !out && t < n; t++) {
        log_total *v = &x->totals[t];
        int64_t k = __atomic_load_n(&v->n, __ATOMIC_RELAXED);
        if (k > 0)
            out = fn(s->names[t], k, __atomic_load_n(&v->bytes, __ATOMIC_RELAXED), __atomic_load_n(&v->compute, __ATOMIC_RELAXED),
                     __atomic_load_n(&v->newest, __ATOMIC_RELAXED), user);
    }
    if (!out && disk_bytes) *disk_bytes = weft__packed_folder_bytes(s->root);
    return out;
}

const weft_store weft__store_log = {
    .version = WEFT_STORE_VERSION,
    .name = "log",
    .state_size = sizeof(log_state),
    .open = log_open,
    .close = log_close,
    .get = log_get,
    .put = log_put,
    .remove = log_remove,
    .touch = log_touch,
    .list = log_list,
    .remove_temp = log_remove_temp,
    .clear = log_clear,
    .get_meta = log_get_meta,
    .put_meta = log_put_meta,
    .get_many = log_get_many,
    .put_many = log_put_many,
    .side_path = log_side_path,
    .read_only = log_read_only,
    .summary = log_summary,
    .evict = weft__log_evict,
};
