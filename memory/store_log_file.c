/* The log store's files (memory/store_log.c has the design): segments mapped once per
 * process, records in and out of them, the task names file, the writers' lock, and
 * appending at the log's end. */
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

int weft__log_esys(int e, const char *what, const char *path) {
    return weft__set_error(WEFT_ESYS, "%s '%s': %s", what, path, strerror(e));
}

/* ---- segments */

int weft__log_seg_path(const log_state *s, uint64_t seg, char *buf, size_t size) {
    return (size_t)snprintf(buf, size, "%s/" LOG_SEG_PREFIX "%08llx" LOG_SEG_SUFFIX, s->root,
                            (unsigned long long)seg) >= size
               ? -1
               : 0;
}

log_seg *weft__log_seg_slot(log_state *s, uint64_t seg) {
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
const unsigned char *weft__log_seg_map(log_state *s, uint64_t seg, uint64_t need) {
    log_seg *g = weft__log_seg_slot(s, seg);
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
uint64_t weft__log_seg_size(log_state *s, uint64_t seg) {
    if (!weft__log_seg_map(s, seg, UINT64_MAX) && !weft__log_seg_map(s, seg, 0)) return 0;
    return atomic_load(&weft__log_seg_slot(s, seg)->known);
}

/* What this process wrote itself is known to be there without a stat. */
static void seg_known(log_state *s, uint64_t seg, uint64_t end) {
    log_seg *g = weft__log_seg_slot(s, seg);
    if (!g) return;
    uint_fast64_t k = atomic_load(&g->known);
    while (k < end && !atomic_compare_exchange_weak(&g->known, &k, end)) {
    }
}

/* ---- records */

void weft__log_rec_head(unsigned char *p, uint16_t task, uint32_t length, const uint8_t key[16], int64_t stamp,
                        uint32_t packing) {
    weft__put32(p, REC_MAGIC | (uint32_t)task << 16);
    weft__put32(p + 4, length);
    memcpy(p + 8, key, 16);
    weft__put64(p + 24, (uint64_t)stamp);
    weft__put32(p + 32, packing);
    weft__put32(p + 36, (uint32_t)weft__hash64(p, 36));
}

/* Parse a record's bytes (at most `room` of them): 0 or WEFT_ECORRUPT. */
int weft__log_rec_parse(const unsigned char *p, uint64_t room, log_rec *r) {
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
    int f = weft__packing_flags(r->packing);
    size_t hs = weft__packing_head(r->packing), ph = weft__pack_head_size(f, hs);
    if (hs < 16 || ph > n) return WEFT_ECORRUPT;
    r->size = (int64_t)(hs + n - ph);
    long at = weft__pack_compute_at(r->packing);
    r->compute = at >= 0 && (size_t)at + 8 <= n ? (int64_t)weft__get64(r->data + at) : 0;
    return 0;
}

int weft__log_record(log_state *s, uint64_t loc, log_rec *r) {
    uint64_t seg = loc >> 32, off = loc & 0xffffffffu;
    if (off % 8 || off + REC_HEAD > LOG_SEG_MAX) return WEFT_ECORRUPT;
    const unsigned char *p = weft__log_seg_map(s, seg, off + REC_HEAD);
    if (!p) return WEFT_ECORRUPT;
    uint32_t length = weft__get32(p + off + 4);
    if (length < REC_HEAD || off + length > LOG_SEG_MAX || !weft__log_seg_map(s, seg, off + length)) return WEFT_ECORRUPT;
    r->loc = loc;
    return weft__log_rec_parse(p + off, length, r);
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
        uint64_t size = weft__log_seg_size(s, segs[i]), off = 0;
        const unsigned char *p = weft__log_seg_map(s, segs[i], size);
        log_rec r;
        while (p && off < size && weft__log_rec_parse(p + off, size - off, &r) == 0) {
            fn(s, log_loc(segs[i], off), &r, user);
            off += log_pad8(r.length);
        }
    }
    if (n) *first_seg = segs[0], *last_seg = segs[n - 1];
    free(segs);
    return 0;
}

/* ---- task names: ROOT/weft.tasks, line k the escaped name of task id k */

void weft__log_load_names(log_state *s) {
    char path[4200];
    snprintf(path, sizeof path, "%s/" LOG_TASKS_FILE, s->root);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW); /* a link there is no task file of ours */
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f && fd >= 0) close(fd);
    if (!f) return;
    char *line = NULL;
    size_t line_size = 0;
    ssize_t len;
    int id = 0, n = atomic_load(&s->n_names);
    /* getline's length, not strlen: a damaged line (a NUL in it) is still one id */
    while ((len = getline(&line, &line_size, f)) > 0) {
        if (line[len - 1] != '\n') break; /* a line a killed writer did not finish */
        line[len - 1] = '\0';
        if (++id >= LOG_TASKS) break;
        if (id < n) continue;
        char name[4096];
        size_t nl = weft__disk_unescape(line, name, sizeof name);
        if (!nl) name[0] = '\0'; /* too long: no task's name */
        if (!(s->names[id] = malloc(nl + 1))) break;
        memcpy(s->names[id], name, nl + 1);
        atomic_store_explicit(&s->n_names, id + 1, memory_order_release);
    }
    free(line);
    fclose(f);
}

/* The names other processes added since, read under map_lock. */
static void reload_names(log_state *s) {
    weft_plat_mutex_lock(&s->map_lock);
    weft__log_load_names(s);
    weft_plat_mutex_unlock(&s->map_lock);
}

static int find_name(log_state *s, const char *task) {
    int n = atomic_load_explicit(&s->n_names, memory_order_acquire);
    for (int i = 1; i < n; i++)
        if (strcmp(s->names[i], task) == 0) return i;
    return 0;
}

/* The task's id: > 0, or 0 when it has none (and `create` is 0, or the folder has
 * LOG_TASKS - 1 tasks already). `create`: the writers' lock is held. */
int weft__log_task_id(log_state *s, const char *task, int create) {
    int id = find_name(s, task);
    if (id) return id;
    reload_names(s);
    if ((id = find_name(s, task)) || !create) return id;
    if (atomic_load(&s->n_names) >= LOG_TASKS) return 0; /* full: a line more would only grow the file */
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
    reload_names(s);
    return find_name(s, task);
}

const char *weft__log_task_name(log_state *s, unsigned id) {
    if (id == 0 || id >= (unsigned)atomic_load_explicit(&s->n_names, memory_order_acquire)) {
        reload_names(s);
    }
    return id > 0 && id < (unsigned)atomic_load_explicit(&s->n_names, memory_order_acquire) ? s->names[id] : NULL;
}

/* ---- the writers' lock */

int weft__log_lock(log_state *s) {
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
            return weft__log_esys(e, "cannot open the cache lock", path);
        }
        close(s->lock_fd);
        s->lock_fd = fd;
        s->lock_pid = getpid();
    }
    while (flock(s->lock_fd, LOCK_EX) != 0) {
        if (errno == EINTR) continue;
        int e = errno;
        weft_plat_mutex_unlock(&s->lock);
        return weft__log_esys(e, "cannot lock the cache", s->root);
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

void weft__log_unlock(log_state *s) {
    __atomic_store_n(&atomic_load(&s->idx)->h->dirty, 0, __ATOMIC_RELEASE);
    flock(s->lock_fd, LOCK_UN);
    weft_plat_mutex_unlock(&s->lock);
}

/* ---- appending (lock held) */

int weft__log_buf_for(log_state *s, size_t n) {
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
    return s->seg_fd < 0 ? weft__log_esys(errno, "cannot write the cache segment", path) : 0;
}

/* Write n bytes of records at the log's end: 0 and *loc, or WEFT_E* (nothing written). A
 * batch that would pass the segment's size starts the next segment. */
int weft__log_append(log_state *s, const unsigned char *b, size_t n, int fsync, uint64_t *loc) {
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
            return weft__log_esys(e, "cannot write the cache segment", path);
        }
        done += (size_t)w;
    }
    if (fsync && fdatasync(s->seg_fd) != 0) return weft__log_esys(errno, "cannot sync the cache segment", s->root);
    *loc = log_loc(h->active_seg, h->active_off);
    h->active_off += n;
    seg_known(s, h->active_seg, h->active_off);
    return 0;
}

/* Delete the segments before `seg` from `from` on (lock held). */
void weft__log_drop_segments(log_state *s, uint64_t from, uint64_t seg) {
    for (uint64_t k = from; k < seg; k++) {
        char path[4200];
        if (weft__log_seg_path(s, k, path, sizeof path) == 0) unlink(path);
    }
}

void weft__log_remove_files(log_state *s, const log_gone *g, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const char *name = weft__log_task_name(s, g[i].task);
        if (name) weft__store_disk.remove(s->files, name, g[i].key);
    }
}
