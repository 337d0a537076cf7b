/* The log store's eviction (memory/store_log.c has the design): a clock hand walks the
 * log from its oldest record; a dead record is passed, an expired one or, while over a
 * limit, one not used since it was written is dropped, a used one is written again at
 * the log's end (a second chance). Segments the hand passed are deleted, the part of the
 * one it stops in is given back to the file system. */
#define _GNU_SOURCE
#include "store_log.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MOVE_FLUSH (1u << 20) /* bytes of second-chance records written at once */

typedef struct hand {
    log_state *s;
    int64_t before_ns, max_bytes, max_items;
    weft__store_evicted *out;
    log_pending *moves; /* second chances waiting in s->buf */
    size_t n_moves, cap_moves, used;
    log_gone *gone;
    size_t n_gone, cap_gone;
} hand;

static int move_flush(hand *w) {
    int rc = 0;
    if (w->used) {
        uint64_t loc;
        rc = weft__log_append(w->s, w->s->buf, w->used, 0, &loc);
        for (size_t i = 0; !rc && i < w->n_moves; i++) {
            /* the key keeps its slot and last use: only its place moves (one probe) */
            log_index *x = atomic_load(&w->s->idx);
            log_rec r;
            int64_t at = weft__log_find(w->s, x, w->moves[i].rec.key, &r);
            uint64_t old;
            if (at >= 0)
                __atomic_store_n(&x->slots[at].loc, loc + w->moves[i].at, __ATOMIC_RELEASE);
            else
                rc = weft__log_insert(w->s, w->moves[i].rec.key, loc + w->moves[i].at, w->moves[i].rec.stamp, &old);
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
    if (r->packing) return;
    if (w->n_gone == w->cap_gone) { /* a full list: its files go now, so none is left behind */
        weft__log_remove_files(w->s, w->gone, w->n_gone);
        w->n_gone = 0;
    }
    w->gone[w->n_gone].task = r->task;
    memcpy(w->gone[w->n_gone++].key, r->key, 16);
}

/* Give the record another turn: a copy at the log's end, stamped now (or with its last
 * use, when that says later: it is a use before the copy). */
static int second_chance(hand *w, const log_rec *r, int64_t atime) {
    log_state *s = w->s;
    size_t room = log_pad8(r->length);
    if (w->used + room > MOVE_FLUSH || w->n_moves == w->cap_moves) {
        int rc = move_flush(w);
        if (rc) return rc;
    }
    int rc = weft__log_buf_for(s, w->used + room);
    if (rc) return rc;
    unsigned char *b = s->buf + w->used;
    memcpy(b, r->data - REC_HEAD, r->length);
    memset(b + r->length, 0, room - r->length);
    int64_t now = weft_plat_wall_ns();
    if (atime > now) now = atime;
    weft__log_rec_head(b, r->task, r->length, r->key, now, r->packing);
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
        const unsigned char *p = weft__log_seg_map(s, seg, 0);
        uint64_t end = seg == h->active_seg ? h->active_off : p ? atomic_load(&weft__log_seg_slot(s, seg)->known)
                                                                : 0;
        log_rec r;
        if (seg != h->active_seg && (!p || off >= end || weft__log_rec_parse(p + off, end - off, &r) != 0)) {
            end = weft__log_seg_size(s, seg); /* what another process appended since this one looked */
            p = weft__log_seg_map(s, seg, end);
        }
        if (!p || off >= end || weft__log_rec_parse(p + off, end - off, &r) != 0) {
            if (seg == h->active_seg) break;            /* a damaged tail of the active segment: stays */
            if (w->used && (rc = move_flush(w))) break; /* its moved records are safe first */
            weft__log_drop_segments(s, seg, seg + 1);
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
        h->hand_off = off + log_pad8(r.length);
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

int weft__log_evict(void *state, int64_t max_bytes, int64_t max_items, int64_t before_ns, weft__store_evicted *out) {
    log_state *s = state;
    memset(out, 0, sizeof *out);
    hand w = {.s = s, .before_ns = before_ns, .max_bytes = max_bytes, .max_items = max_items, .out = out, .cap_moves = 4096, .cap_gone = 4096};
    w.moves = malloc(w.cap_moves * sizeof *w.moves);
    w.gone = malloc(w.cap_gone * sizeof *w.gone);
    int rc = w.moves && w.gone ? weft__log_lock(s) : WEFT_ENOMEM;
    if (!rc) {
        rc = walk(&w);
        log_header *h = atomic_load(&s->idx)->h;
        out->items_left = h->live_count;
        out->bytes_left = h->live_bytes;
        weft__log_unlock(s);
        weft__log_remove_files(s, w.gone, w.n_gone);
    }
    free(w.moves);
    free(w.gone);
    return rc;
}
