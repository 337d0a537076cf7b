/* A byte stream in shared memory from one process to another (single writer, single
 * reader): the hot path of the processes backend moves without a system call while the
 * other side is awake. Each side says in the ring when it is about to sleep, so that the
 * other side knows to wake it; a flag is raised, then the ring looked at again, with a
 * full fence between, so no wake-up is lost. A reader sleeps on a futex in the ring (the
 * cheapest wake-up between processes) or, waiting on several rings at once, in poll() on
 * their sockets (wire.c rings those). */
#define _GNU_SOURCE
#include "native.h"

#include <errno.h>
#include <linux/futex.h>
#include <sched.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

size_t weft__ring_used(weft__ring *r) {
    return (size_t)(atomic_load_explicit(&r->head, memory_order_acquire) -
                    atomic_load_explicit(&r->tail, memory_order_relaxed));
}

size_t weft__ring_room(weft__ring *r) {
    return WEFT__RING_BYTES - (size_t)(atomic_load_explicit(&r->head, memory_order_relaxed) -
                                       atomic_load_explicit(&r->tail, memory_order_acquire));
}

/* Bytes [at, at + n) of the stream, in the ring's storage (two pieces when they wrap). */
static void copy_out(const weft__ring *r, uint64_t at, unsigned char *to, size_t n) {
    size_t i = (size_t)(at % WEFT__RING_BYTES), first = WEFT__RING_BYTES - i < n ? WEFT__RING_BYTES - i : n;
    memcpy(to, r->data + i, first);
    memcpy(to + first, r->data, n - first);
}

static void copy_in(weft__ring *r, uint64_t at, const unsigned char *from, size_t n) {
    size_t i = (size_t)(at % WEFT__RING_BYTES), first = WEFT__RING_BYTES - i < n ? WEFT__RING_BYTES - i : n;
    memcpy(r->data + i, from, first);
    memcpy(r->data, from + first, n - first);
}

size_t weft__ring_read(weft__ring *r, void *to, size_t n, int *wake_writer) {
    uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
    size_t used = (size_t)(atomic_load_explicit(&r->head, memory_order_acquire) - tail);
    if (n > used) n = used;
    *wake_writer = 0;
    if (!n) return 0;
    copy_out(r, tail, to, n);
    atomic_store_explicit(&r->tail, tail + n, memory_order_release);
    weft_plat_full_fence(); /* the tail, then the writer's flag */
    *wake_writer = atomic_load_explicit(&r->writer_sleeps, memory_order_relaxed) && atomic_exchange(&r->writer_sleeps, 0);
    return n;
}

size_t weft__ring_write(weft__ring *r, const void *from, size_t n, int *wake_reader) {
    uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
    size_t room = WEFT__RING_BYTES - (size_t)(head - atomic_load_explicit(&r->tail, memory_order_acquire));
    if (n > room) n = room;
    *wake_reader = 0;
    if (!n) return 0;
    copy_in(r, head, from, n);
    atomic_store_explicit(&r->writer_cpu, sched_getcpu(), memory_order_relaxed);
    atomic_store_explicit(&r->head, head + n, memory_order_release);
    weft_plat_full_fence(); /* the head, then the reader's flag */
    uint32_t how = atomic_load_explicit(&r->reader_sleeps, memory_order_relaxed) ? atomic_exchange(&r->reader_sleeps, 0) : 0;
    if (how == WEFT__SLEEPS_FUTEX) {
        atomic_fetch_add(&r->bell, 1);
        syscall(SYS_futex, &r->bell, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    *wake_reader = how == WEFT__SLEEPS_POLL;
    return n;
}

int weft__ring_wait_bytes(weft__ring *r, int timeout_ms) {
    uint32_t bell = atomic_load(&r->bell);
    atomic_store(&r->reader_sleeps, WEFT__SLEEPS_FUTEX);
    weft_plat_full_fence(); /* the flag, then the head */
    if (!weft__ring_used(r)) {
        struct timespec ts = {timeout_ms / 1000, (long)(timeout_ms % 1000) * 1000000L};
        syscall(SYS_futex, &r->bell, FUTEX_WAIT, bell, timeout_ms < 0 ? NULL : &ts, NULL, 0);
    }
    atomic_store_explicit(&r->reader_sleeps, 0, memory_order_relaxed);
    return weft__ring_used(r) != 0;
}

int weft__ring_sleep_reader(weft__ring *r) {
    atomic_store(&r->reader_sleeps, WEFT__SLEEPS_POLL);
    weft_plat_full_fence(); /* the flag, then the head */
    if (!weft__ring_used(r)) return 1;
    atomic_store(&r->reader_sleeps, 0);
    return 0;
}

int weft__ring_sleep_writer(weft__ring *r) {
    atomic_store(&r->writer_sleeps, 1);
    weft_plat_full_fence(); /* the flag, then the tail */
    if (!weft__ring_room(r)) return 1;
    atomic_store(&r->writer_sleeps, 0);
    return 0;
}

void weft__ring_awake_reader(weft__ring *r) { atomic_store_explicit(&r->reader_sleeps, 0, memory_order_relaxed); }
void weft__ring_awake_writer(weft__ring *r) { atomic_store_explicit(&r->writer_sleeps, 0, memory_order_relaxed); }
