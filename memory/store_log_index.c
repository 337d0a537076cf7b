/* The log store's index, ROOT/weft.idx (memory/store_log.h): a header page, the per-task
 * totals, then an open-addressing hash table of slots (linear probing, a power-of-two
 * capacity), mapped MAP_SHARED by every process that opens the folder.
 *
 * Readers probe it without a lock: a slot's location is published last (release), so a
 * reader that sees it sees its tag and time; whatever a slot says is checked against the
 * record it points to (the full key), so a slot read while a writer moves it is at worst
 * a miss. Writers hold the lock (memory/store_log.c). The table grows at 85% load into a
 * new file renamed over the old one, whose header then says "moved": every process
 * reopens. A damaged index (a bad header or size) is moved aside and rebuilt from the
 * segments; a writer that died mid-update leaves the dirty flag, and the next writer
 * counts the totals again. */
#define _GNU_SOURCE
#include "store_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define GROW_PERCENT 85

static uint64_t load_acq(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static uint64_t load_rlx(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static void store_rel(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static void store_rlx(uint64_t *p, uint64_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static void add_rlx(int64_t *p, int64_t v) { __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }

static int index_path(const log_state *s, char *buf, size_t size, const char *suffix) {
    return (size_t)snprintf(buf, size, "%s/" WEFT__LOG_INDEX "%s", s->root, suffix) >= size ? -1 : 0;
}

static size_t file_bytes(uint64_t capacity) { return LOG_HEADER_BYTES + capacity * sizeof(log_slot); }

static void unmap(log_index *x) {
    if (!x) return;
    munmap(x->base, x->size);
    close(x->fd);
    free(x);
}

/* Map an index file: the mapping, or NULL (*damaged: the file is there but is no index
 * of this version). */
static log_index *map_file(const char *path, int writable, int *damaged) {
    *damaged = 0;
    int fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return NULL;
    struct stat st;
    log_index *x = calloc(1, sizeof *x);
    void *base = MAP_FAILED;
    if (x && fstat(fd, &st) == 0 && st.st_size >= LOG_HEADER_BYTES)
        base = mmap(NULL, (size_t)st.st_size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
        *damaged = x != NULL;
        free(x);
        close(fd);
        return NULL;
    }
    log_header *h = base;
    uint64_t cap = h->capacity;
    if (memcmp(h->magic, LOG_MAGIC, 8) != 0 || h->version != LOG_VERSION || h->header_bytes != LOG_HEADER_BYTES ||
        cap < 16 || (cap & (cap - 1)) || cap > ((uint64_t)1 << 40) || (size_t)st.st_size != file_bytes(cap)) {
        *damaged = 1;
        munmap(base, (size_t)st.st_size);
        free(x);
        close(fd);
        return NULL;
    }
    x->fd = fd;
    x->base = base;
    x->size = (size_t)st.st_size;
    x->h = h;
    x->totals = (log_total *)(x->base + 4096);
    x->slots = (log_slot *)(x->base + LOG_HEADER_BYTES);
    x->mask = cap - 1;
    x->dev = st.st_dev;
    x->ino = st.st_ino;
    return x;
}

/* A new, empty index file of `capacity` slots at `path` (not yet renamed into place),
 * its header copied from `from` (NULL: a fresh log). */
static log_index *make_file(const char *path, uint64_t capacity, const log_header *from) {
    unlink(path);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return NULL;
    int rc = ftruncate(fd, (off_t)file_bytes(capacity));
    if (rc == 0) rc = posix_fallocate(fd, 0, LOG_HEADER_BYTES);
    log_header h = {0};
    if (from) h = *from;
    memcpy(h.magic, LOG_MAGIC, 8);
    h.version = LOG_VERSION;
    h.header_bytes = LOG_HEADER_BYTES;
    h.capacity = capacity;
    h.moved = 0;
    h.used = 0;
    if (!from) h.active_seg = h.hand_seg = 1;
    if (rc == 0 && pwrite(fd, &h, sizeof h, 0) != (ssize_t)sizeof h) rc = -1;
    close(fd);
    int damaged;
    log_index *x = rc == 0 ? map_file(path, 1, &damaged) : NULL;
    if (!x) unlink(path);
    return x;
}

/* Put x in place of this process's index; the old one stays mapped until close. */
static void install(log_state *s, log_index *x) {
    weft_plat_mutex_lock(&s->map_lock);
    x->older = atomic_load(&s->idx);
    atomic_store_explicit(&s->idx, x, memory_order_release);
    weft_plat_mutex_unlock(&s->map_lock);
}

/* Rename a new index file over weft.idx, tell the processes on the old one, and use it. */
static int rename_in(log_state *s, log_index *x, const char *tmp) {
    char path[4200];
    index_path(s, path, sizeof path, "");
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        unmap(x);
        return weft__set_error(WEFT_ESYS, "cannot replace the cache index '%s': %s", path, strerror(e));
    }
    log_index *old = atomic_load(&s->idx);
    if (old && !s->read_only) store_rel(&old->h->moved, 1);
    install(s, x);
    return 0;
}

/* Put a slot into a table that does not hold its key (growing, rebuilding): 1, or 0
 * when the table has the very same slot (a copy a killed writer's deletion left). */
static int place(log_index *x, uint64_t tag, uint64_t loc, int64_t atime) {
    uint64_t i = log_home(x, tag), at;
    while ((at = load_rlx(&x->slots[i].loc))) {
        if (at == loc && load_rlx(&x->slots[i].tag) == tag) return 0;
        i = (i + 1) & x->mask;
    }
    store_rlx(&x->slots[i].tag, tag);
    store_rlx((uint64_t *)&x->slots[i].atime, (uint64_t)atime);
    store_rel(&x->slots[i].loc, loc);
    x->h->used++;
    return 1;
}

static int grow(log_state *s) {
    log_index *old = atomic_load(&s->idx);
    char tmp[4200];
    index_path(s, tmp, sizeof tmp, ".new");
    log_index *x = make_file(tmp, (old->mask + 1) * 2, old->h);
    if (!x) return weft__set_error(WEFT_ESYS, "cannot grow the cache index '%s': %s", tmp, strerror(errno));
    memcpy(x->totals, old->totals, LOG_TASKS * sizeof(log_total));
    for (uint64_t i = 0; i <= old->mask; i++) {
        uint64_t loc = load_acq(&old->slots[i].loc);
        if (loc) place(x, load_rlx(&old->slots[i].tag), loc, (int64_t)load_rlx((uint64_t *)&old->slots[i].atime));
    }
    return rename_in(s, x, tmp);
}

int64_t weft__log_find(log_state *s, log_index *x, const uint8_t key[16], log_rec *rec) {
    uint64_t tag = log_tag(key), i = log_home(x, tag);
    for (uint64_t n = 0; n <= x->mask; n++, i = (i + 1) & x->mask) {
        uint64_t loc = load_acq(&x->slots[i].loc);
        if (!loc) return -1;
        if (load_rlx(&x->slots[i].tag) != tag) continue;
        if (weft__log_record(s, loc, rec) == 0 && memcmp(rec->key, key, 16) == 0) return (int64_t)i;
    }
    return -1;
}

void weft__log_count(log_index *x, const log_rec *r, int sign) {
    add_rlx(&x->h->live_count, sign);
    add_rlx(&x->h->live_bytes, sign * r->size);
    if (!r->task || r->task >= LOG_TASKS) return;
    log_total *t = &x->totals[r->task];
    add_rlx(&t->n, sign);
    add_rlx(&t->bytes, sign * r->size);
    add_rlx(&t->compute, sign * r->compute);
    if (sign > 0 && r->stamp > t->newest) __atomic_store_n(&t->newest, r->stamp, __ATOMIC_RELAXED);
}

static int rebuild(log_state *s);

int weft__log_insert(log_state *s, const uint8_t key[16], uint64_t loc, int64_t atime, uint64_t *old) {
    *old = 0;
    log_index *x = atomic_load(&s->idx);
    if ((x->h->used + 1) * 100 > (x->mask + 1) * GROW_PERCENT) {
        int rc = grow(s);
        if (rc) return rc;
        x = atomic_load(&s->idx);
    }
    uint64_t tag = log_tag(key), i = log_home(x, tag);
    for (uint64_t n = 0;; n++, i = (i + 1) & x->mask) {
        if (n > x->mask) { /* no free slot below 85% load: garbage slots, rebuilt from the segments */
            int rc = rebuild(s);
            if (rc) return rc;
            x = atomic_load(&s->idx);
            i = log_home(x, tag), n = 0;
        }
        uint64_t at = load_rlx(&x->slots[i].loc);
        if (!at) break;
        log_rec r;
        if (load_rlx(&x->slots[i].tag) == tag && weft__log_record(s, at, &r) == 0 && memcmp(r.key, key, 16) == 0) {
            *old = at;
            store_rlx((uint64_t *)&x->slots[i].atime, (uint64_t)atime);
            store_rel(&x->slots[i].loc, loc);
            return 0;
        }
    }
    place(x, tag, loc, atime);
    return 0;
}

void weft__log_delete(log_index *x, uint64_t i) {
    store_rel(&x->slots[i].loc, 0);
    x->h->used--;
    /* backward shift: later slots of the cluster that may live nearer home move back
     * (a reader probing meanwhile may miss them: a miss, never a wrong value) */
    for (uint64_t j = (i + 1) & x->mask, n = 0; n < x->mask; j = (j + 1) & x->mask, n++) { /* bounded: damaged slots may leave none free */
        uint64_t loc = load_rlx(&x->slots[j].loc);
        if (!loc) return;
        uint64_t k = log_home(x, load_rlx(&x->slots[j].tag));
        int stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays) continue;
        store_rlx(&x->slots[i].tag, load_rlx(&x->slots[j].tag));
        store_rlx((uint64_t *)&x->slots[i].atime, load_rlx((uint64_t *)&x->slots[j].atime));
        store_rel(&x->slots[i].loc, loc);
        store_rel(&x->slots[j].loc, 0);
        i = j;
    }
}

/* A writer died mid-update: a deletion it was shifting back may have left a slot out of
 * reach of its probe, and the totals half changed. The table is made again in a new file
 * (every slot placed anew) and the totals counted from the records. A slot whose record
 * cannot be read or is another key's (damaged slots) is left out: no lookup can use it. */
static int recount(log_state *s, log_index *x) {
    char tmp[4200];
    index_path(s, tmp, sizeof tmp, ".new");
    log_index *y = make_file(tmp, x->mask + 1, x->h);
    if (!y) return weft__set_error(WEFT_ESYS, "cannot repair the cache index '%s': %s", tmp, strerror(errno));
    y->h->live_count = y->h->live_bytes = 0;
    for (uint64_t i = 0; i <= x->mask; i++) {
        uint64_t loc = load_acq(&x->slots[i].loc), tag = load_rlx(&x->slots[i].tag);
        log_rec r;
        if (loc && weft__log_record(s, loc, &r) == 0 && log_tag(r.key) == tag &&
            place(y, tag, loc, (int64_t)load_rlx((uint64_t *)&x->slots[i].atime)))
            weft__log_count(y, &r, 1);
    }
    y->h->dirty = 0;
    return rename_in(s, y, tmp);
}

int weft__log_recount(log_state *s) { return recount(s, atomic_load(&s->idx)); }

/* Rebuild: every record of the segments, oldest first, into an empty index (later
 * records of a key replace earlier ones). */
static void rebuild_one(log_state *s, uint64_t loc, const log_rec *r, void *user) {
    uint64_t old;
    int *err = user;
    if (*err || weft__log_insert(s, r->key, loc, r->stamp, &old) != 0) {
        *err = 1;
        return;
    }
    log_index *x = atomic_load(&s->idx);
    log_rec was;
    if (old && weft__log_record(s, old, &was) == 0) weft__log_count(x, &was, -1);
    weft__log_count(x, r, 1);
}

static int rebuild(log_state *s) {
    char tmp[4200];
    index_path(s, tmp, sizeof tmp, ".new");
    log_index *x = make_file(tmp, LOG_FIRST_CAPACITY, NULL);
    if (!x) return weft__set_error(WEFT_ESYS, "cannot create the cache index '%s': %s", tmp, strerror(errno));
    x->h->dirty = 1;
    int rc = rename_in(s, x, tmp);
    if (rc) return rc;
    uint64_t first = 0, last = 0;
    int err = 0;
    rc = weft__log_scan(s, rebuild_one, &err, &first, &last);
    x = atomic_load(&s->idx);
    x->h->hand_seg = first ? first : last + 1;
    x->h->hand_off = x->h->punched_off = 0;
    /* new records go to a fresh segment: a damaged tail is never appended to */
    x->h->active_seg = last + 1;
    x->h->active_off = 0;
    if (err) rc = weft__set_error(WEFT_ESYS, "cannot rebuild the cache index of '%s'", s->root);
    store_rel(&x->h->dirty, 0);
    return rc;
}

/* A segment the index still needs is gone or shorter than the records it points to (cut
 * by hand or by a full disk): their slots lead nowhere and the totals count them. A stat
 * per segment, done when a writer opens the folder. */
static int segments_short(log_state *s, const log_header *h) {
    for (uint64_t seg = h->hand_seg; seg <= h->active_seg && seg - h->hand_seg < 4096; seg++) {
        char path[4200];
        struct stat st;
        if (seg == h->active_seg && !h->active_off) break; /* not written yet */
        uint64_t need = seg == h->active_seg ? h->active_off : 0;
        if (weft__log_seg_path(s, seg, path, sizeof path) == 0 &&
            (stat(path, &st) != 0 || (uint64_t)st.st_size < need))
            return 1;
    }
    return 0;
}

/* A damaged index file moved aside, kept for a post mortem (its entries are found again
 * in the segments). */
static void move_aside(const char *path) {
    char aside[4300];
    snprintf(aside, sizeof aside, "%s.damaged-%lld", path, (long long)(weft_plat_wall_ns() / 1000000000));
    rename(path, aside);
}

int weft__log_index_open(log_state *s, int writable) {
    char path[4200];
    if (index_path(s, path, sizeof path, ""))
        return weft__set_error(WEFT_EINVAL, "the cache path '%.64s...' is too long", s->root);
    if (writable && flock(s->lock_fd, LOCK_EX) != 0)
        return weft__set_error(WEFT_ESYS, "cannot lock the cache '%s': %s", s->root, strerror(errno));
    int damaged, rc = 0;
    log_index *x = map_file(path, writable, &damaged);
    if (x) {
        install(s, x);
        if (writable && (x->h->dirty || segments_short(s, x->h))) rc = recount(s, x);
    } else if (writable) {
        if (damaged) move_aside(path);
        rc = rebuild(s);
    }
    if (writable) flock(s->lock_fd, LOCK_UN);
    return rc;
}

log_index *weft__log_index(log_state *s) {
    log_index *x = atomic_load_explicit(&s->idx, memory_order_acquire);
    if (!x || !load_acq(&x->h->moved)) return x;
    char path[4200];
    index_path(s, path, sizeof path, "");
    weft_plat_mutex_lock(&s->map_lock);
    log_index *now = atomic_load(&s->idx);
    int damaged;
    log_index *fresh = now == x ? map_file(path, !s->read_only, &damaged) : NULL;
    if (fresh) {
        fresh->older = now;
        atomic_store_explicit(&s->idx, fresh, memory_order_release);
    }
    weft_plat_mutex_unlock(&s->map_lock);
    return atomic_load_explicit(&s->idx, memory_order_acquire);
}

int weft__log_index_settle(log_state *s) {
    char path[4200];
    index_path(s, path, sizeof path, "");
    log_index *x = atomic_load(&s->idx);
    struct stat st;
    int there = stat(path, &st) == 0;
    if (!x || !there || x->h->moved || st.st_dev != x->dev || st.st_ino != x->ino) {
        int damaged;
        log_index *fresh = there ? map_file(path, 1, &damaged) : NULL;
        if (fresh)
            install(s, fresh);
        else {
            if (there) move_aside(path);
            int rc = rebuild(s);
            if (rc) return rc;
        }
        x = atomic_load(&s->idx);
    }
    return x->h->dirty ? recount(s, x) : 0;
}

void weft__log_index_close(log_state *s) {
    log_index *x = atomic_load(&s->idx);
    while (x) {
        log_index *older = x->older;
        unmap(x);
        x = older;
    }
    atomic_store(&s->idx, NULL);
}
