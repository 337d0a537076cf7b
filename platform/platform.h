/* Host primitives. core/ reaches the operating system only through this header; every
 * host (posix.c, emscripten.c, wasi.c) implements all of it. A primitive a host lacks
 * returns -ENOSYS-style WEFT_PLAT_ENOSYS instead of an #ifdef at the call site.
 * Functions return 0 on success or a negative error number. */
#ifndef WEFT_PLATFORM_H
#define WEFT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#define WEFT_PLAT_ENOSYS (-38)

/* Opaque storage big enough for the host's mutex and condition variable; each host
 * checks the size at compile time. */
typedef struct weft_plat_mutex {
    _Alignas(16) unsigned char opaque[64];
} weft_plat_mutex;
typedef struct weft_plat_cond {
    _Alignas(16) unsigned char opaque[64];
} weft_plat_cond;
typedef struct weft_plat_thread weft_plat_thread;

/* Non-zero where weft_plat_thread_start can work. */
int weft_plat_has_threads(void);
int weft_plat_thread_start(weft_plat_thread **out, void (*fn)(void *), void *arg);
/* Waits for the thread and frees its handle. */
int weft_plat_thread_join(weft_plat_thread *t);

void weft_plat_mutex_init(weft_plat_mutex *m);
void weft_plat_mutex_destroy(weft_plat_mutex *m);
void weft_plat_mutex_lock(weft_plat_mutex *m);
void weft_plat_mutex_unlock(weft_plat_mutex *m);
void weft_plat_cond_init(weft_plat_cond *c);
void weft_plat_cond_destroy(weft_plat_cond *c);
void weft_plat_cond_wait(weft_plat_cond *c, weft_plat_mutex *m);
void weft_plat_cond_broadcast(weft_plat_cond *c);
void weft_plat_cond_signal(weft_plat_cond *c);
/* Give the CPU to another thread (sched_yield). */
void weft_plat_yield(void);

/* A hint inside spin loops (the x86 pause instruction). */
static inline void weft_plat_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
/* Shared memory. weft_plat_shm_create gives `size` zeroed, page-aligned bytes that other
 * processes can map through *fd: a memfd, or a POSIX shm object unlinked at once, so no
 * name is ever left behind and the memory goes when the last process lets it go. Hosts
 * without processes give plain memory and *fd = -1. */
int weft_plat_shm_create(size_t size, void **base, int *fd);
/* Map `size` bytes of a region another process made (its fd, received from it). */
int weft_plat_shm_map(int fd, size_t size, void **base);
/* Unmap (`base` may be NULL) and close (`fd` may be -1). */
void weft_plat_shm_release(void *base, size_t size, int fd);

#endif
}

/* Monotonic clock in nanoseconds. */
uint64_t weft_plat_now_ns(void);
/* Wall clock, seconds since the Unix epoch. */
int64_t weft_plat_time_s(void);

/* CPUs this process may run on: affinity mask and cgroup CPU quota (v1 and v2)
 * applied natively, the host's reported concurrency under Emscripten, 1 under WASI. */
int weft_plat_cpu_count(void);
/* Parts of that answer, for `weft info` and tests: CPUs online, CPUs in the affinity
 * mask, the cgroup quota in CPUs (0 when none). */
int weft_plat_cpu_online(void);
int weft_plat_cpu_affinity(void);
double weft_plat_cpu_quota(void);

/* The environment; NULL when unset. */
const char *weft_plat_getenv(const char *name);
/* Non-zero when standard error is a terminal. */
int weft_plat_stderr_is_tty(void);
/* Write all bytes to standard error. */
void weft_plat_write_stderr(const char *s, size_t n);

/* Shared memory. weft_plat_shm_create gives `size` zeroed, page-aligned bytes that other
 * processes can map through *fd: a memfd, or a POSIX shm object unlinked at once, so no
 * name is ever left behind and the memory goes when the last process lets it go. Hosts
 * without processes give plain memory and *fd = -1. */
int weft_plat_shm_create(size_t size, void **base, int *fd);
/* Map `size` bytes of a region another process made (its fd, received from it). */
int weft_plat_shm_map(int fd, size_t size, void **base);
/* Unmap (`base` may be NULL) and close (`fd` may be -1). */
void weft_plat_shm_release(void *base, size_t size, int fd);

#endif
