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

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIST_PAGE 1024
#define MOVE_FLUSH (1u << 20) /* bytes of second-chance records written at once */
#define MAX_SMALL (1u << 20)  /* an entry (header and value) larger than this is a file */

static size_t pad8(size_t n) { return (n + 7) & ~(size_t)7; }

static int is_large(size_t hs, size_t vs) {
    return vs > WEFT__PACKED_MAX_INLINE || hs < 16 || hs + vs > MAX_SMALL || hs > (UINT32_MAX >> WEFT__PACK_BITS);
}

static int esys(int e, const char *what, const char *path) {
    return weft__set_error(WEFT_ESYS, "%s '%s': %s", what, path, strerror(e));
}

/* ---- segments */

int weft__log_seg_path(const log_state *s, uint64_t seg, char *buf, size_t size) {
    return (size_t)snprintf(buf, size, "%s/" LOG_SEG_PREFIX "%08llx" LOG_SEG_SUFFIX, s->root,
                            (unsigned long long)seg) >= size
               ? -1
               : 0;
}

static log_seg *seg_slot(log_state *s, uint64_t seg) {
    if (seg == 0 || seg >= (uint64_t)LOG_SEG_CHUNK * LOG_SEG_CHUNKS) return NULL;
    log_seg *chunk = atomic_load_explicit(&s->segs[seg / LOG_SEG_CHUNK], memory_order_acquire);
    if (!chunk) {
        weft_plat_mutex_lock(&s->map_lock);
        chunk = atomic_load(&s->segs[seg / LOG_SEG_CHUNK]);
        if (!chunk && (chunk = calloc(LOG_SEG_CHUNK, sizeof *chunk)))
            atomic_store_explicit(&s->segs[seg / LOG_SEG_CHUNK], chunk, memory_order_release);
        weft_plat_mutex_unlock(&s->map_lock);
        if (!chunk) return NULL;
    }
    return &chunk[seg % LOG_SEG_CHUNK];
}

/* A segment's mapping (made on first use), and what is known of its size; NULL when the
 * segment is not there. `need`: bytes that must lie in the file (its size is checked
 * again when they pass what is known). */
static const unsigned char *seg_map(log_state *s, uint64_t seg, uint64_t need) {
    log_seg *g = seg_slot(s, seg);
    if (!g) return NULL;
    const unsigned char *p = atomic_load_explicit(&g->p, memory_order_acquire);
    if (p && need <= atomic_load_explicit(&g->known, memory_order_acquire)) return p;
    char path[4200];
    if (weft__log_seg_path(s, seg, path, sizeof path)) return NULL;
    weft_plat_mutex_lock(&s->map_lock);
    p = atomic_load(&g->p);
    struct stat st;
    if (!p) {
        int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        void *m = fd >= 0 && fstat(fd, &st) == 0 ? mmap(NULL, LOG_SEG_MAX, PROT_READ, MAP_SHARED, fd, 0) : MAP_FAILED;
        if (fd >= 0) close(fd);
        if (m != MAP_FAILED) {
            atomic_store(&g->known, (uint64_t)st.st_size);
            atomic_store_explicit(&g->p, p = m, memory_order_release);
        }
    } else if (stat(path, &st) == 0 && (uint64_t)st.st_size > atomic_load(&g->known)) {
        atomic_store_explicit(&g->known, (uint64_t)st.st_size, memory_order_release);
    }
    weft_plat_mutex_unlock(&s->map_lock);
    return p && need <= atomic_load(&g->known) ? p : NULL;
}

/* A segment's size now (a stat: another process may have appended to it), or 0. */
static uint64_t seg_size(log_state *s, uint64_t seg) {
    if (!seg_map(s, seg, UINT64_MAX) && !seg_map(s, seg, 0)) return 0;
    return atomic_load(&seg_slot(s, seg)->known);
}

/* What this process wrote itself is known to be there without a stat. */
static void seg_known(log_state *s, uint64_t seg, uint64_t end) {
    log_seg *g = seg_slot(s, seg);
    if (!g) return;
    uint_fast64_t k = atomic_load(&g->known);
    while (k < end && !atomic_compare_exchange_weak(&g->known, &k, end)) {
    }
}

/* ---- records */

static void rec_head(unsigned char *p, uint16_t task, uint32_t length, const uint8_t key[16], int64_t stamp,
                     uint32_t packing) {
    weft__put32(p, REC_MAGIC | (uint32_t)task << 16);
    weft__put32(p + 4, length);
    memcpy(p + 8, key, 16);
    weft__put64(p + 24, (uint64_t)stamp);
    weft__put32(p + 32, packing);
    weft__put32(p + 36, (uint32_t)weft__hash64(p, 36));
}

/* Parse a record's bytes (at most `room` of them): 0 or WEFT_ECORRUPT. */
static int rec_parse(const unsigned char *p, uint64_t room, log_rec *r) {
    if (room < REC_HEAD) return WEFT_ECORRUPT;
    uint32_t w = weft__get32(p);
    if ((w & 0xffff) != REC_MAGIC || weft__get32(p + 36) != (uint32_t)weft__hash64(p, 36)) return WEFT_ECORRUPT;
    r->task = (uint16_t)(w >> 16);
    r->length = weft__get32(p + 4);
    memcpy(r->key, p + 8, 16);
    r->stamp = (int64_t)weft__get64(p + 24);
    r->packing = weft__get32(p + 32);
    r->data = p + REC_HEAD;
    if (r->length < REC_HEAD || r->length > room) return WEFT_ECORRUPT;
    size_t n = r->length - REC_HEAD;
    if (!r->packing) { /* a large value: its size and compute time */
        if (n != 16) return WEFT_ECORRUPT;
        r->size = (int64_t)weft__get64(r->data);
        r->compute = (int64_t)weft__get64(r->data + 8);
        return 0;
    }
    int f = (int)(r->packing & ((1u << WEFT__PACK_BITS) - 1));
    size_t hs = r->packing >> WEFT__PACK_BITS, ph = weft__pack_head_size(f, hs);
    if (hs < 16 || ph > n) return WEFT_ECORRUPT;
    r->size = (int64_t)(hs + n - ph);
    long at = weft__pack_compute_at(r->packing);
    r->compute = at >= 0 && (size_t)at + 8 <= n ? (int64_t)weft__get64(r->data + at) : 0;
    return 0;
}

int weft__log_record(log_state *s, uint64_t loc, log_rec *r) {
    uint64_t seg = loc >> 32, off = loc & 0xffffffffu;
    if (off % 8 || off + REC_HEAD > LOG_SEG_MAX) return WEFT_ECORRUPT;
    const unsigned char *p = seg_map(s, seg, off + REC_HEAD);
    if (!p) return WEFT_ECORRUPT;
    uint32_t length = weft__get32(p + off + 4);
    if (length < REC_HEAD || off + length > LOG_SEG_MAX || !seg_map(s, seg, off + length)) return WEFT_ECORRUPT;
    return rec_parse(p + off, length, r);
}

int weft__log_scan(log_state *s, void (*fn)(log_state *, uint64_t, const log_rec *, void *), void *user,
                   uint64_t *first_seg, uint64_t *last_seg) {
    *first_seg = *last_seg = 0;
    DIR *d = opendir(s->root);
    if (!d) return weft__set_error(WEFT_ESYS, "cannot list the cache folder '%s': %s", s->root, strerror(errno));
    uint64_t *segs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        unsigned long long k;
        char tail[8];
        if (sscanf(e->d_name, LOG_SEG_PREFIX "%8llx%7s", &k, tail) != 2 || strcmp(tail, LOG_SEG_SUFFIX) != 0 || !k)
            continue;
        if (n == cap) {
            uint64_t *v = realloc(segs, (cap = cap ? 2 * cap : 64) * sizeof *v);
            if (!v) break;
            segs = v;
        }
        segs[n++] = k;
    }
    closedir(d);
    for (size_t i = 1; i < n; i++) /* oldest first (few segments: insertion sort) */
        for (size_t j = i; j > 0 && segs[j - 1] > segs[j]; j--) {
            uint64_t t = segs[j];
            segs[j] = segs[j - 1];
            segs[j - 1] = t;
        }
    for (size_t i = 0; i < n; i++) {
        uint64_t size = seg_size(s, segs[i]), off = 0;
        const unsigned char *p = seg_map(s, segs[i], size);
        log_rec r;
        while (p && off < size && rec_parse(p + off, size - off, &r) == 0) {
            fn(s, log_loc(segs[i], off), &r, user);
            off += pad8(r.length);
        }
    }
    if (n) *first_seg = segs[0], *last_seg = segs[n - 1];
    free(segs);
    return 0;
}

/* ---- task names: ROOT/weft.tasks, line k the escaped name of task id k */

static void load_names(log_state *s) {
    char path[4200];
    snprintf(path, sizeof path, "%s/" LOG_TASKS_FILE, s->root);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW); /* a link there is no task file of ours */
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0) close(fd);
    if (!f) return;
    char line[4096];
    int id = 0, n = atomic_load(&s->n_names);
    while (fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        if (!len || line[len - 1] != '\n') break; /* a line a killed writer did not finish */
        line[len - 1] = '\0';
        if (++id >= LOG_TASKS) break;
        if (id < n) continue;
        char name[4096];
        size_t nl = weft__disk_unescape(line, name, sizeof name);
        if (!(s->names[id] = malloc(nl + 1))) break;
        memcpy(s->names[id], name, nl + 1);
        atomic_store_explicit(&s->n_names, id + 1, memory_order_release);
    }
    fclose(f);
}

static int find_name(log_state *s, const char *task) {
    int n = atomic_load_explicit(&s->n_names, memory_order_acquire);
    for (int i = 1; i < n; i++)
        if (strcmp(s->names[i], task) == 0) return i;
    return 0;
}

/* The task's id: > 0, or 0 when it has none (and `create` is 0, or the folder has
 * LOG_TASKS - 1 tasks already). `create`: the writers' lock is held. */
static int task_id(log_state *s, const char *task, int create) {
    int id = find_name(s, task);
    if (id) return id;
    weft_plat_mutex_lock(&s->map_lock);
    load_names(s);
    weft_plat_mutex_unlock(&s->map_lock);
    if ((id = find_name(s, task)) || !create) return id;
    char path[4200], line[4096];
    size_t n = weft__disk_escape(task, line, sizeof line - 1);
    snprintf(path, sizeof path, "%s/" LOG_TASKS_FILE, s->root);
    int fd = n ? open(path, O_RDWR | O_CREAT | O_APPEND | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0644) : -1;
    if (fd < 0) return 0;
    /* after a line a killed writer left unfinished, a new line */
    struct stat st;
    char last = '\n';
    if (fstat(fd, &st) == 0 && st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n')
        if (write(fd, "\n", 1) != 1) last = 0;
    line[n] = '\n';
    int ok = last != 0 && write(fd, line, n + 1) == (ssize_t)(n + 1);
    close(fd);
    if (!ok) return 0;
    weft_plat_mutex_lock(&s->map_lock);
    load_names(s);
    weft_plat_mutex_unlock(&s->map_lock);
    return find_name(s, task);
}

static const char *task_name(log_state *s, unsigned id) {
    if (id == 0 || id >= (unsigned)atomic_load_explicit(&s->n_names, memory_order_acquire)) {
        weft_plat_mutex_lock(&s->map_lock);
        load_names(s);
        weft_plat_mutex_unlock(&s->map_lock);
    }
    return id > 0 && id < (unsigned)atomic_load_explicit(&s->n_names, memory_order_acquire) ? s->names[id] : NULL;
}

/* ---- the writers' lock */

static int lock_writers(log_state *s) {
    if (s->read_only)
        return weft__set_error(WEFT_ESYS, "cannot write to the cache folder '%s' (check its permissions)", s->root);
    weft_plat_mutex_lock(&s->lock);
    if (s->lock_pid != getpid()) { /* a forked child: a lock of its own, not its parent's */
        char path[4200];
        snprintf(path, sizeof path, "%s/" LOG_LOCK_FILE, s->root);
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            int e = errno;
            weft_plat_mutex_unlock(&s->lock);
            return esys(e, "cannot open the cache lock", path);
        }
        close(s->lock_fd);
        s->lock_fd = fd;
        s->lock_pid = getpid();
    }
    while (flock(s->lock_fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        weft_plat_mutex_unlock(&s->lock);
        return esys(e, "cannot lock the cache", s->root);
    }
    int rc = weft__log_index_settle(s);
    if (rc) {
        flock(s->lock_fd, LOCK_UN);
        weft_plat_mutex_unlock(&s->lock);
        return rc;
    }
    __atomic_store_n(&atomic_load(&s->idx)->h->dirty, 1, __ATOMIC_RELEASE);
    return 0;
}

static void unlock_writers(log_state *s) {
    __atomic_store_n(&atomic_load(&s->idx)->h->dirty, 0, __ATOMIC_RELEASE);
    flock(s->lock_fd, LOCK_UN);
    weft_plat_mutex_unlock(&s->lock);
}

/* ---- appending (lock held) */

static int buf_for(log_state *s, size_t n) {
    if (n <= s->buf_size) return 0;
    size_t size = s->buf_size ? s->buf_size : 65536;
    while (size < n) size *= 2;
    unsigned char *b = realloc(s->buf, size);
    if (!b) return weft__set_error(WEFT_ENOMEM, "out of memory writing cache records");
    s->buf = b;
    s->buf_size = size;
    return 0;
}

/* The active segment, open for writing. */
static int active_fd(log_state *s, log_header *h) {
    if (s->seg_fd >= 0 && s->seg_fd_num == h->active_seg) return 0;
    if (s->seg_fd >= 0) close(s->seg_fd);
    char path[4200];
    weft__log_seg_path(s, h->active_seg, path, sizeof path);
    s->seg_fd = open(path, O_WRONLY | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW, 0644);
    s->seg_fd_num = h->active_seg;
    return s->seg_fd < 0 ? esys(errno, "cannot write the cache segment", path) : 0;
}

/* Write n bytes of records at the log's end: 0 and *loc, or WEFT_E* (nothing written). A
 * batch that would pass the segment's size starts the next segment. */
static int append(log_state *s, const unsigned char *b, size_t n, int fsync, uint64_t *loc) {
    log_header *h = atomic_load(&s->idx)->h;
    if (h->active_off && h->active_off + n > LOG_SEG_MAX) {
        if (active_fd(s, h) == 0 && ftruncate(s->seg_fd, (off_t)h->active_off) != 0) {
        } /* a killed writer's tail, past the last record: not kept */
        h->active_seg++;
        h->active_off = 0;
    }
    int rc = active_fd(s, h);
    if (rc) return rc;
    size_t done = 0;
    while (done < n) {
        ssize_t w = pwrite(s->seg_fd, b + done, n - done, (off_t)(h->active_off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            if (ftruncate(s->seg_fd, (off_t)h->active_off) != 0) {
            } /* what was written stays unreachable */
            char path[4200];
            weft__log_seg_path(s, h->active_seg, path, sizeof path);
            return esys(e, "cannot write the cache segment", path);
        }
        done += (size_t)w;
    }
    if (fsync && fdatasync(s->seg_fd) != 0) return esys(errno, "cannot sync the cache segment", s->root);
    *loc = log_loc(h->active_seg, h->active_off);
    h->active_off += n;
    seg_known(s, h->active_seg, h->active_off);
    return 0;
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
        rc = esys(errno, "cannot open the cache lock", path);
    s->lock_pid = getpid();
    weft_plat_mutex_init(&s->lock);
    weft_plat_mutex_init(&s->map_lock);
    if (!rc) rc = weft__log_index_open(s, !s->read_only);
    if (!rc) load_names(s);
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
            /* a slot of this key whose record cannot be read (and that stays so) is a
             * damaged record: reported, so Memory removes it and computes it again */
            uint64_t tag = log_tag(g->key), j = (tag ^ tag >> 29) & x->mask;
            for (uint64_t n = 0; n <= x->mask; n++, j = (j + 1) & x->mask) {
                uint64_t loc = __atomic_load_n(&x->slots[j].loc, __ATOMIC_ACQUIRE);
                if (!loc) break;
                if (__atomic_load_n(&x->slots[j].tag, __ATOMIC_RELAXED) != tag) continue;
                log_rec bad;
                int rc = weft__log_record(s, loc, &bad);
                if ((rc || memcmp(bad.key, g->key, 16) == 0) && __atomic_load_n(&x->slots[j].loc, __ATOMIC_ACQUIRE) == loc &&
                    (rc || bad.task == tid) && !__atomic_load_n(&x->h->moved, __ATOMIC_ACQUIRE))
                    return WEFT_ECORRUPT; /* (an index replaced meanwhile is asked again) */
            }
            return WEFT_ENOTFOUND;
        }
        if (r.task != tid) return WEFT_ENOTFOUND;
        uint64_t loc = __atomic_load_n(&x->slots[i].loc, __ATOMIC_ACQUIRE);
        g->last_access_ns = (int64_t)__atomic_load_n((uint64_t *)&x->slots[i].atime, __ATOMIC_RELAXED);
        if (!r.packing) return LARGE;
        int rc = weft__unpack(r.packing, r.data, r.length - REC_HEAD, g->key, &g->head, &g->value);
        /* the slot still points here: the bytes copied were the record's, not those of a
         * region the eviction hand gave back meanwhile */
        if (rc || __atomic_load_n(&x->slots[i].loc, __ATOMIC_ACQUIRE) == loc) return rc;
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
            tid = task_id(s, task = g->task, 0);
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

typedef struct pending {
    size_t put, at; /* the put, and where its record lies in s->buf */
    log_rec rec;
} pending;

/* A removed or replaced large value's file (after the lock: the slot went first). */
typedef struct gone_file {
    uint16_t task;
    uint8_t key[16];
} gone_file;

/* Publish the records in s->buf (lock held): one write, then their slots. */
static int flush(log_state *s, size_t used, pending *p, size_t n, int fsync, gone_file *gone, size_t *n_gone) {
    if (!used) return 0;
    uint64_t loc;
    int rc = append(s, s->buf, used, fsync, &loc);
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

static void remove_files(log_state *s, const gone_file *g, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *name = task_name(s, g[i].task);
        if (name) weft__store_disk.remove(s->files, name, g[i].key);
    }
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
    pending *pend = malloc((n ? n : 1) * sizeof *pend);
    gone_file *gone = malloc((n ? n : 1) * sizeof *gone);
    int rc = pend && gone ? lock_writers(s) : weft__set_error(WEFT_ENOMEM, "out of memory storing cache entries");
    int locked = rc == 0;
    size_t used = 0, k = 0, n_gone = 0;
    int64_t stamp = weft_plat_wall_ns();
    for (size_t i = 0; !rc && i < n; i++) {
        weft__store_put *p = &puts[i];
        if (p->rc != NOT_STORED) continue;
        int tid = task_id(s, p->task, 1);
        if (!tid) {
            p->rc = weft__set_error(WEFT_ESYS, "cannot record the task '%.64s' in the cache '%s' (more than %d tasks, or the task file cannot be written)", p->task, s->root, LOG_TASKS - 1);
            continue;
        }
        int large = is_large(p->head_size, p->value_size);
        int f = large ? 0 : weft__pack_flags(p->head, p->head_size, p->key, p->value_size);
        size_t len = REC_HEAD + (large ? 16 : weft__pack_head_size(f, p->head_size) + p->value_size), room = pad8(len);
        log_header *h = atomic_load(&s->idx)->h;
        if (used && h->active_off + used + room > LOG_SEG_MAX) { /* the rest in the next segment */
            int frc = flush(s, used, pend, k, fsync, gone, &n_gone);
            for (size_t j = 0; j < k; j++) puts[pend[j].put].rc = frc;
            used = k = 0;
        }
        if ((rc = buf_for(s, used + room))) break;
        unsigned char *b = s->buf + used;
        memset(b + len, 0, room - len);
        pending *q = &pend[k++];
        q->put = i;
        q->at = used;
        q->rec = (log_rec){.task = (uint16_t)tid, .length = (uint32_t)len, .stamp = stamp, .packing = large ? 0 : weft__packing(f, p->head_size), .size = (int64_t)(p->head_size + p->value_size)};
        memcpy(q->rec.key, p->key, 16);
        weft__entry e;
        q->rec.compute = weft__entry_parse(p->head, p->head_size, &e) == 0 ? e.compute_ns : 0;
        rec_head(b, (uint16_t)tid, (uint32_t)len, p->key, stamp, q->rec.packing);
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
    if (locked) unlock_writers(s);
    for (size_t i = 0; i < n; i++)
        if (puts[i].rc == NOT_STORED) puts[i].rc = rc ? rc : WEFT_ESYS;
    if (gone) remove_files(s, gone, n_gone);
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
    int tid = task_id(s, task, 0);
    int64_t i = weft__log_find(s, x, key, r);
    if (i >= 0) return r->task == tid ? i : -1;
    uint64_t tag = log_tag(key), j = (tag ^ tag >> 29) & x->mask;
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
    int rc = lock_writers(s);
    if (rc) return rc;
    log_index *x = atomic_load(&s->idx);
    log_rec r;
    int64_t i = slot_of(s, x, task, key, &r);
    int large = 0;
    if (i >= 0) {
        if (r.length) weft__log_count(x, &r, -1);
        large = r.length && !r.packing;
        weft__log_delete(x, (uint64_t)i);
    }
    unlock_writers(s);
    if (large) weft__store_disk.remove(s->files, task, key); /* the slot first: a file no slot names is never read */
    return i >= 0 ? 0 : WEFT_ENOTFOUND;
}

static int log_touch(void *state, const char *task, const uint8_t key[16], int64_t now_ns) {
    log_state *s = state;
    if (s->read_only) return 0; /* its index is mapped read-only: uses are not recorded */
    log_index *x = weft__log_index(s);
    int tid = task_id(s, task, 0);
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
    int only = task ? task_id(s, task, 0) : -1;
    listed *page = malloc(LIST_PAGE * sizeof *page);
    if (!page) return WEFT_ENOMEM;
    int out = 0;
    log_index *x = weft__log_index(s);
    for (uint64_t from = 0; x && only != 0 && !out && from <= x->mask; from += LIST_PAGE) {
        size_t n = 0;
        for (uint64_t i = from; i <= x->mask && i < from + LIST_PAGE; i++) {
            uint64_t loc = __atomic_load_n(&x->slots[i].loc, __ATOMIC_ACQUIRE);
            log_rec r;
            if (!loc || weft__log_record(s, loc, &r) != 0 || (only > 0 && r.task != only)) continue;
            listed *l = &page[n++];
            memcpy(l->key, r.key, 16);
            l->task = r.task;
            l->large = !r.packing;
            l->size = r.size;
            l->atime = (int64_t)__atomic_load_n((uint64_t *)&x->slots[i].atime, __ATOMIC_RELAXED);
        }
        for (size_t i = 0; !out && i < n; i++) {
            const char *name = task_name(s, page[i].task);
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

/* Delete the segments before `seg` from `from` on (lock held). */
static void drop_segments(log_state *s, uint64_t from, uint64_t seg) {
    for (uint64_t k = from; k < seg; k++) {
        char path[4200];
        if (weft__log_seg_path(s, k, path, sizeof path) == 0) unlink(path);
    }
}

static int log_clear(void *state, const char *task) {
    log_state *s = state;
    int rc = lock_writers(s);
    if (rc) return rc;
    int only = task ? task_id(s, task, 0) : -1;
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
        drop_segments(s, from, h->active_seg);
    }
    unlock_writers(s);
    return weft__store_disk.clear(s->files, task); /* large values, versions, litter, the journal */
}

static int log_get_meta(void *state, const char *task, const char *name, char *buf, size_t size) {
    return weft__store_disk.get_meta(((log_state *)state)->files, task, name, buf, size);
}

static int log_put_meta(void *state, const char *task, const char *name, const char *value) {
    return weft__store_disk.put_meta(((log_state *)state)->files, task, name, value);
}

static int log_side_path(void *state, const char *name, char *buf, size_t size) {
    log_state *s = state;
    return (size_t)snprintf(buf, size, "%s/%s", s->root, name) >= size ? WEFT_EINVAL : 0;
}

static int log_read_only(void *state) { return ((log_state *)state)->read_only; }

/* ---- version 3: totals from the index header; eviction by the clock hand */

static int log_summary(void *state, weft__store_summary_fn fn, void *user, int64_t *disk_bytes) {
    log_state *s = state;
    log_index *x = weft__log_index(s);
    task_name(s, 0); /* names made by other processes */
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

typedef struct hand {
    log_state *s;
    int64_t before_ns, max_bytes, max_items;
    weft__store_evicted *out;
    pending *moves; /* second chances waiting in s->buf */
    size_t n_moves, cap_moves, used;
    gone_file *gone;
    size_t n_gone, cap_gone;
} hand;

static int move_flush(hand *w) {
    int rc = 0;
    if (w->used) {
        uint64_t loc;
        rc = append(w->s, w->s->buf, w->used, 0, &loc);
        for (size_t i = 0; !rc && i < w->n_moves; i++) {
            uint64_t old; /* the key keeps its slot and last use: only its place moves */
            log_index *x = atomic_load(&w->s->idx);
            log_rec r;
            int64_t at = weft__log_find(w->s, x, w->moves[i].rec.key, &r);
            int64_t atime = at >= 0 ? (int64_t)__atomic_load_n((uint64_t *)&x->slots[at].atime, __ATOMIC_RELAXED)
                                    : w->moves[i].rec.stamp;
            rc = weft__log_insert(w->s, w->moves[i].rec.key, loc + w->moves[i].at, atime, &old);
        }
    }
    w->used = w->n_moves = 0;
    return rc;
}

/* Drop the record r at slot i (its entry leaves the cache). */
static void drop(hand *w, log_index *x, int64_t i, const log_rec *r, int expired) {
    weft__log_count(x, r, -1);
    weft__log_delete(x, (uint64_t)i);
    if (expired)
        w->out->expired++, w->out->expired_bytes += r->size;
    else
        w->out->evicted++, w->out->evicted_bytes += r->size;
    if (!r->packing && w->n_gone < w->cap_gone) {
        w->gone[w->n_gone].task = r->task;
        memcpy(w->gone[w->n_gone++].key, r->key, 16);
    }
}

/* Give the record another turn: a copy at the log's end, stamped now (or with its last
 * use, when that says later: it is a use before the copy). */
static int second_chance(hand *w, const log_rec *r, int64_t atime) {
    log_state *s = w->s;
    size_t room = pad8(r->length);
    if (w->used + room > MOVE_FLUSH || w->n_moves == w->cap_moves) {
        int rc = move_flush(w);
        if (rc) return rc;
    }
    int rc = buf_for(s, w->used + room);
    if (rc) return rc;
    unsigned char *b = s->buf + w->used;
    memcpy(b, r->data - REC_HEAD, r->length);
    memset(b + r->length, 0, room - r->length);
    int64_t now = weft_plat_wall_ns();
    if (atime > now) now = atime;
    rec_head(b, r->task, r->length, r->key, now, r->packing);
    w->moves[w->n_moves].at = w->used;
    w->moves[w->n_moves].rec = *r;
    w->moves[w->n_moves++].rec.stamp = now;
    w->used += room;
    return 0;
}

static int over(const hand *w, const log_header *h) {
    int64_t items = __atomic_load_n(&h->live_count, __ATOMIC_RELAXED), bytes = __atomic_load_n(&h->live_bytes, __ATOMIC_RELAXED);
    return (w->max_items > 0 && items > w->max_items) || (w->max_bytes > 0 && bytes > w->max_bytes);
}

/* Walk the hand until nothing is expired or over a limit (lock held). */
static int walk(hand *w) {
    log_state *s = w->s;
    int rc = 0;
    log_index *x = atomic_load(&s->idx);
    uint64_t steps = 0, limit = 2 * x->h->used + 1024;
    while (!rc && steps++ < limit) {
        x = atomic_load(&s->idx);
        log_header *h = x->h;
        if (h->hand_seg == h->active_seg && w->used && (rc = move_flush(w))) break;
        if (h->hand_seg > h->active_seg || (h->hand_seg == h->active_seg && h->hand_off >= h->active_off)) break;
        uint64_t seg = h->hand_seg, off = h->hand_off;
        const unsigned char *p = seg_map(s, seg, 0);
        uint64_t end = seg == h->active_seg ? h->active_off : p ? atomic_load(&seg_slot(s, seg)->known)
                                                                : 0;
        log_rec r;
        if (seg != h->active_seg && (!p || off >= end || rec_parse(p + off, end - off, &r) != 0)) {
            end = seg_size(s, seg); /* what another process appended since this one looked */
            p = seg_map(s, seg, end);
        }
        if (!p || off >= end || rec_parse(p + off, end - off, &r) != 0) {
            if (seg == h->active_seg) break;            /* a damaged tail of the active segment: stays */
            if (w->used && (rc = move_flush(w))) break; /* its moved records are safe first */
            drop_segments(s, seg, seg + 1);
            h->hand_seg = seg + 1;
            h->hand_off = h->punched_off = 0;
            continue;
        }
        int expiring = w->before_ns > 0 && r.stamp < w->before_ns, too_many = over(w, h);
        if (!expiring && !too_many) break;
        log_rec now;
        int64_t i = weft__log_find(s, x, r.key, &now);
        if (i >= 0 && x->slots[i].loc == log_loc(seg, off)) {
            int64_t atime = (int64_t)__atomic_load_n((uint64_t *)&x->slots[i].atime, __ATOMIC_RELAXED);
            if (w->before_ns > 0 && atime < w->before_ns)
                drop(w, x, i, &r, 1);
            else if (too_many && atime <= r.stamp)
                drop(w, x, i, &r, 0);
            else
                rc = second_chance(w, &r, atime);
        }
        h->hand_off = off + pad8(r.length);
    }
    if (!rc) rc = move_flush(w);
    /* the part of the hand's segment behind it goes back to the file system */
    log_header *h = atomic_load(&s->idx)->h;
    uint64_t upto = h->hand_off & ~(uint64_t)4095;
    if (upto > h->punched_off) {
        char path[4200];
        weft__log_seg_path(s, h->hand_seg, path, sizeof path);
        int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)h->punched_off, (off_t)(upto - h->punched_off)) == 0)
            h->punched_off = upto;
        if (fd >= 0) close(fd);
    }
    return rc;
}

static int log_evict(void *state, int64_t max_bytes, int64_t max_items, int64_t before_ns, weft__store_evicted *out) {
    log_state *s = state;
    memset(out, 0, sizeof *out);
    hand w = {.s = s, .before_ns = before_ns, .max_bytes = max_bytes, .max_items = max_items, .out = out, .cap_moves = 4096, .cap_gone = 4096};
    w.moves = malloc(w.cap_moves * sizeof *w.moves);
    w.gone = malloc(w.cap_gone * sizeof *w.gone);
    int rc = w.moves && w.gone ? lock_writers(s) : WEFT_ENOMEM;
    if (!rc) {
        rc = walk(&w);
        log_header *h = atomic_load(&s->idx)->h;
        out->items_left = h->live_count;
        out->bytes_left = h->live_bytes;
        unlock_writers(s);
        remove_files(s, w.gone, w.n_gone);
    }
    free(w.moves);
    free(w.gone);
    return rc;
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
    .evict = log_evict,
};
