/* An LD_PRELOAD library that makes real file operations fail, for the cache's fault and
 * crash suites (tests/c/test_cache_faults.c). It counts the operations on files under
 * one folder -- open, openat, read, write, pwrite, rename, fsync; read/write/fsync count
 * when their fd was opened there -- and at chosen ones does what the environment says:
 *
 *   WEFT_FAULT_PATH    the folder (an operation elsewhere is neither counted nor failed)
 *   WEFT_FAULT_EVERY   N: every Nth operation is hit ...
 *   WEFT_FAULT_AT      ... or only the Nth
 *   WEFT_FAULT_KIND    eio | enospc (the call fails with that errno; open gives EIO for
 *                      enospc when it would not create) | short (a write writes half, a
 *                      read reads half) | kill (SIGKILL to the process, before the call)
 *   WEFT_FAULT_REPORT  a file that gets the number of operations counted, at exit
 *
 * Without WEFT_FAULT_PATH it only passes calls through. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#define MAX_FD 65536

enum { NONE, EIO_KIND, ENOSPC_KIND, SHORT_KIND, KILL_KIND };

static char prefix[4096];
static size_t prefix_len;
static long every, at;
static int kind = NONE;
static atomic_long count;
static atomic_uchar watched[MAX_FD]; /* fds opened under the folder */

static void __attribute__((constructor)) setup(void) {
    const char *p = getenv("WEFT_FAULT_PATH");
    if (!p || !*p || strlen(p) >= sizeof prefix) return;
    strcpy(prefix, p);
    prefix_len = strlen(prefix);
    const char *e = getenv("WEFT_FAULT_EVERY"), *a = getenv("WEFT_FAULT_AT"), *k = getenv("WEFT_FAULT_KIND");
    every = e ? atol(e) : 0;
    at = a ? atol(a) : 0;
    kind = !k                        ? NONE
           : !strcmp(k, "eio")       ? EIO_KIND
           : !strcmp(k, "enospc")    ? ENOSPC_KIND
           : !strcmp(k, "short")     ? SHORT_KIND
           : !strcmp(k, "kill")      ? KILL_KIND
                                     : NONE;
}

static void __attribute__((destructor)) report(void) {
    const char *path = getenv("WEFT_FAULT_REPORT");
    if (!prefix_len || !path) return;
    FILE *f = fopen(path, "w");
    if (!f) return;
    fprintf(f, "%ld\n", atomic_load(&count));
    fclose(f);
}

/* The libc function this one stands for, looked up once. */
#define NEXT(name)                                                                          \
    static __typeof__(&name) real_##name;                                                   \
    if (!real_##name) *(void **)&real_##name = dlsym(RTLD_NEXT, #name)

static int under(const char *path) {
    return prefix_len && path && strncmp(path, prefix, prefix_len) == 0 &&
           (path[prefix_len] == '/' || path[prefix_len] == '\0');
}

static int is_watched(int fd) { return prefix_len && fd >= 0 && fd < MAX_FD && atomic_load(&watched[fd]); }

static void watch(int fd, int yes) {
    if (fd >= 0 && fd < MAX_FD) atomic_store(&watched[fd], (unsigned char)yes);
}

/* Count one operation; the fault to inject now (NONE most of the time). */
static int hit(void) {
    long n = atomic_fetch_add(&count, 1) + 1;
    int chosen = (every > 0 && n % every == 0) || (at > 0 && n == at);
    if (!chosen || kind == NONE) return NONE;
    if (kind == KILL_KIND) raise(SIGKILL);
    return kind;
}

static int fail_errno(int k) { return k == ENOSPC_KIND ? ENOSPC : EIO; }

static int open_common(int dirfd, const char *path, int flags, mode_t mode, int use_at) {
    NEXT(open);
    NEXT(openat);
    int counted = under(path) || (use_at && path && path[0] != '/' && is_watched(dirfd));
    int k = counted ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = k == ENOSPC_KIND && (flags & O_CREAT) ? ENOSPC : EIO;
        return -1;
    }
    int fd = use_at ? real_openat(dirfd, path, flags, mode) : real_open(path, flags, mode);
    watch(fd, counted);
    return fd;
}

int open(const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open_common(AT_FDCWD, path, flags, mode, 0);
}
int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int openat(int dirfd, const char *path, int flags, ...) {
    mode_t mode = 0;
    if (flags & (O_CREAT | O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    return open_common(dirfd, path, flags, mode, 1);
}
int openat64(int dirfd, const char *path, int flags, ...) __attribute__((alias("openat")));

int close(int fd) {
    NEXT(close);
    watch(fd, 0);
    return real_close(fd);
}

ssize_t read(int fd, void *buf, size_t n) {
    NEXT(read);
    int k = is_watched(fd) ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = EIO;
        return -1;
    }
    return real_read(fd, buf, k == SHORT_KIND && n > 1 ? n / 2 : n);
}

ssize_t write(int fd, const void *buf, size_t n) {
    NEXT(write);
    int k = is_watched(fd) ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = fail_errno(k);
        return -1;
    }
    return real_write(fd, buf, k == SHORT_KIND && n > 1 ? n / 2 : n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t offset) {
    NEXT(pwrite);
    int k = is_watched(fd) ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = fail_errno(k);
        return -1;
    }
    return real_pwrite(fd, buf, k == SHORT_KIND && n > 1 ? n / 2 : n, offset);
}
ssize_t pwrite64(int fd, const void *buf, size_t n, off_t offset) __attribute__((alias("pwrite")));

int fsync(int fd) {
    NEXT(fsync);
    int k = is_watched(fd) ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = fail_errno(k);
        return -1;
    }
    return real_fsync(fd);
}

int rename(const char *from, const char *to) {
    NEXT(rename);
    int k = under(from) || under(to) ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = fail_errno(k);
        return -1;
    }
    return real_rename(from, to);
}

int renameat(int fromfd, const char *from, int tofd, const char *to) {
    NEXT(renameat);
    int counted = under(from) || under(to) || (from && from[0] != '/' && is_watched(fromfd)) ||
                  (to && to[0] != '/' && is_watched(tofd));
    int k = counted ? hit() : NONE;
    if (k == EIO_KIND || k == ENOSPC_KIND) {
        errno = fail_errno(k);
        return -1;
    }
    return real_renameat(fromfd, from, tofd, to);
}
