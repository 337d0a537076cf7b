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
/* Like cond_wait, but returns after about `ns` nanoseconds at the latest. */
void weft_plat_cond_timedwait(weft_plat_cond *c, weft_plat_mutex *m, uint64_t ns);
void weft_plat_cond_broadcast(weft_plat_cond *c);
void weft_plat_cond_signal(weft_plat_cond *c);
/* Give the CPU to another thread (sched_yield). */
void weft_plat_yield(void);

/* A hint inside spin loops (the x86 pause instruction). */
static inline void weft_plat_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Monotonic clock in nanoseconds. */
uint64_t weft_plat_now_ns(void);
/* Wall clock, seconds since the Unix epoch. */
int64_t weft_plat_time_s(void);

/* Sleep for about `ns` nanoseconds. */
void weft_plat_sleep_ns(uint64_t ns);

/* Ctrl-C during a call. Between begin and end (counted, so calls may overlap), SIGINT
 * only bumps a counter that the call polls; a second SIGINT restores the previous
 * action and re-raises it, so a stuck program still dies. A program with its own SIGINT
 * handler (or SIG_IGN) keeps it: weft then installs nothing. */
void weft_plat_interrupt_begin(void);
void weft_plat_interrupt_end(void);
/* How many SIGINTs arrived while a call was watching (never decreases). */
unsigned weft_plat_interrupt_count(void);

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

#endif
