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

/* A full fence: a store before it is seen by other threads before any load after it
 * (the flag-then-look handshakes of sleeping readers and writers). GCC's ThreadSanitizer
 * models no fences and refuses them (-Wtsan); there a sequentially consistent
 * read-modify-write, also a full barrier, stands in. */
static inline void weft_plat_full_fence(void) {
#if defined(__SANITIZE_THREAD__)
    static int barrier;
    __atomic_fetch_add(&barrier, 0, __ATOMIC_SEQ_CST);
#else
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
#endif
}

/* The one spin lock: for short critical sections that cannot use a mutex (statically
 * initialised tables, a work-stealing slot). Test-and-test-and-set; a waiter relaxes,
 * and yields the CPU after a while so a preempted holder can finish. */
typedef struct weft_plat_spinlock {
    int held; /* used through the __atomic builtins only */
} weft_plat_spinlock;
#define WEFT_PLAT_SPINLOCK_INIT \
    { 0 }
static inline void weft_plat_spin_lock(weft_plat_spinlock *l) {
    for (unsigned spins = 0; __atomic_exchange_n(&l->held, 1, __ATOMIC_ACQUIRE);)
        while (__atomic_load_n(&l->held, __ATOMIC_RELAXED))
            if (++spins % 1024 == 0)
                weft_plat_yield();
            else
                weft_plat_cpu_relax();
}
static inline void weft_plat_spin_unlock(weft_plat_spinlock *l) {
    __atomic_store_n(&l->held, 0, __ATOMIC_RELEASE);
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

/* ---- files and folders (the disk store, checkpoints, the journal) ----
 * Paths are plain C strings; descriptors are small non-negative ints. Every call returns
 * 0 (or a count, or a descriptor) on success, or a negative errno. No locks are used:
 * writers make a temporary file and rename it into place, which is atomic on POSIX file
 * systems and under WASI. */
typedef struct weft_plat_stat {
    int64_t size;     /* bytes */
    int64_t mtime_ns; /* last modification, ns since the Unix epoch (saturated) */
    int is_dir;
    int is_regular; /* a plain file: not a folder, link, FIFO, socket or device */
} weft_plat_file_info;

/* Open an existing plain file for reading. Cache files are input from anyone: a link
 * is not followed (-ELOOP) and anything but a plain file (a FIFO, a device, a folder)
 * is refused with WEFT_PLAT_ENOTREG, without blocking on it. */
#define WEFT_PLAT_ENOTREG (-22) /* EINVAL */
int weft_plat_open_read(const char *path);
/* The same, and the file's size in *size. */
int weft_plat_open_read_size(const char *path, int64_t *size);
/* Create a new file for writing (fails with -EEXIST when it exists), mode 0644. */
int weft_plat_create_excl(const char *path);
/* Read up to n bytes (retrying short reads until EOF); the count read. */
int64_t weft_plat_read(int fd, void *buf, size_t n);
/* Write all n bytes. */
int weft_plat_write_all(int fd, const void *buf, size_t n);
int weft_plat_fsync(int fd);
int weft_plat_close(int fd);
int weft_plat_fstat(int fd, weft_plat_file_info *st);
int weft_plat_stat(const char *path, weft_plat_file_info *st);
/* The same for the name itself: a link is described, not followed (is_dir 0). */
int weft_plat_lstat(const char *path, weft_plat_file_info *st);
/* Set a file's modification time (and access time) to mtime_ns. */
int weft_plat_set_mtime(const char *path, int64_t mtime_ns);
/* Atomically replace `to` with `from`. */
int weft_plat_rename(const char *from, const char *to);
int weft_plat_unlink(const char *path);
/* Remove an empty folder. */
int weft_plat_rmdir(const char *path);
/* Create one folder, mode 0755; 0 when it already exists as a folder. */
int weft_plat_mkdir(const char *path);
/* Flush a folder's entries (after a rename) where the host can; 0 where it cannot. */
int weft_plat_fsync_dir(const char *path);
/* Call fn(name, is_dir, user) for each entry of a folder but "." and "..", in no
 * particular order; stops early and returns fn's value when it is non-zero. is_dir is
 * 1 only for a real folder (a link to one is not). An error while reading the folder
 * is returned (a negative errno), never taken for its end. */
int weft_plat_list_dir(const char *path, int (*fn)(const char *name, int is_dir, void *user),
                       void *user);
/* Remove a folder and what it holds, the way a cache may: through folder descriptors
 * (openat/unlinkat), never following a link, descending at most `depth` folders, and
 * removing only the files and folders `mine(name, depth_left, is_dir, user)` accepts
 * (links and anything else are left where they are, and so is their folder). 0, or a
 * negative errno; a folder that is not empty at the end (a concurrent writer, a file
 * weft did not make) is left in place without an error, and so is a missing one. */
int weft_plat_remove_tree(const char *path, int depth,
                          int (*mine)(const char *name, int depth_left, int is_dir, void *user),
                          void *user);
/* Non-zero when the calling process may create files in the folder. */
int weft_plat_dir_writable(const char *path);

/* Map `size` bytes of a file shared with every process that maps it (the file is created,
 * zero-filled, when missing, and its blocks allocated before the mapping, so a full
 * file system fails here instead of killing a later store with SIGBUS); *out gets the
 * address. WEFT_PLAT_ENOSYS where a host
 * cannot share a mapping between processes (WASI, Emscripten). */
int weft_plat_map_shared(const char *path, size_t size, void **out);
void weft_plat_unmap(void *p, size_t size);
/* Back [p, p + size) with huge pages where the host can (the whole 2 MiB pages inside it):
 * one fault per 2 MiB instead of per 4 KiB for memory about to be written for the first
 * time. Only advice: nothing changes where the host has none. */
void weft_plat_prefer_huge_pages(void *p, size_t size);

/* ---- process */
/* This process's id (1 where the host has no processes, as under WASI). */
int weft_plat_getpid(void);
/* Fill buf with unpredictable bytes (getentropy); 0 or a negative errno. */
int weft_plat_random(void *buf, size_t n);
/* Wall clock in nanoseconds since the Unix epoch. */
int64_t weft_plat_wall_ns(void);
/* The message for a negative errno a primitive returned. */
const char *weft_plat_strerror(int neg_errno);

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
