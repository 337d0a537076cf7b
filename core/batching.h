/* The batching policy: one definition for every backend, and for the JavaScript
 * scheduler, which gets these numbers from weft_js_info (wasm/src/weft_js.c).
 *
 * An automatic batch starts at one item, doubles while a full batch takes less than
 * GROW_BELOW and halves when one takes more than SHRINK_ABOVE, so a batch costs about a
 * millisecond whatever a task costs: dispatch stays a small part of the work, and
 * progress, timeouts and Ctrl-C are seen about every millisecond. Near the end of a call
 * a batch takes at most half of what is left to its sharers (tail splitting), so the last
 * items spread over every worker instead of queueing behind one; on the threads backend
 * down to batches of about 20 microseconds (TAIL_MIN_NS). */
#ifndef WEFT_BATCHING_H
#define WEFT_BATCHING_H

#include <stddef.h>
#include <stdint.h>

#define WEFT__BATCH_GROW_BELOW_NS 500000u
#define WEFT__BATCH_SHRINK_ABOVE_NS 2000000u
#define WEFT__BATCH_MAX ((size_t)1 << 30)

/* The next automatic size after a full batch of `size` items took `took_ns`. */
static inline size_t weft__batch_next(size_t size, uint64_t took_ns) {
    if (took_ns < WEFT__BATCH_GROW_BELOW_NS && size < WEFT__BATCH_MAX) return size * 2;
    if (took_ns > WEFT__BATCH_SHRINK_ABOVE_NS && size > 1) return size / 2;
    return size;
}

/* A batch of at most `size` of the `left` items that `sharers` workers share: half of
 * their share, but not below `floor` items (weft__batch_tail_min; 1: no floor). */
static inline size_t weft__batch_tail(size_t size, size_t left, size_t sharers, size_t floor) {
    size_t cap = left / (2 * sharers);
    if (cap < floor) cap = floor;
    return size < cap ? size : cap ? cap
                                   : 1;
}

/* A tail split stops at batches of about TAIL_MIN_NS: below that, handing out one more
 * batch costs more than spreading the last items saves (tiny tasks keep whole slots). */
#define WEFT__BATCH_TAIL_MIN_NS 20000u

/* Items that take about TAIL_MIN_NS, after a batch of `size` items took `took_ns`. */
static inline size_t weft__batch_tail_min(size_t size, uint64_t took_ns) {
    uint64_t n = (uint64_t)size * WEFT__BATCH_TAIL_MIN_NS / (took_ns ? took_ns : 1);
    return n == 0 ? 1 : n < WEFT__BATCH_MAX ? (size_t)n
                                            : WEFT__BATCH_MAX;
}

/* How many batches a worker of another process may hold (running, queued, or on their
 * way back): two, or while its batches take only microseconds, as many as make QUEUE_NS
 * of work, so small batches stream instead of paying a round trip each. recent_ns: the
 * worker's recent batch time (weft__batch_recent), 0 before its first. */
#define WEFT__QUEUE_NS 200000u
#define WEFT__QUEUE_MAX 256

static inline uint64_t weft__batch_recent(uint64_t recent_ns, uint64_t took_ns) {
    return recent_ns ? (3 * recent_ns + took_ns) / 4 : took_ns + 1;
}

static inline int weft__queue_depth(uint64_t recent_ns) {
    if (!recent_ns || recent_ns >= WEFT__QUEUE_NS / 2) return 2;
    return WEFT__QUEUE_NS / recent_ns < WEFT__QUEUE_MAX ? (int)(WEFT__QUEUE_NS / recent_ns) : WEFT__QUEUE_MAX;
}
#endif
