/* Clock, environment, standard error, files and folders through the C library: the same
 * on Linux, Emscripten and WASI (only POSIX calls that wasi-libc has). */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* getentropy */
#include "platform.h"

#include <dirent.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#if !defined(__wasi__) && !defined(__EMSCRIPTEN__)
#include <sys/mman.h>
#endif
#include <time.h>
#include <unistd.h>

uint64_t weft_plat_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t weft_plat_time_s(void) { return (int64_t)time(NULL); }

const char *weft_plat_getenv(const char *name) { return getenv(name); }
int weft_plat_stderr_is_tty(void) { return isatty(2); }

void weft_plat_write_stderr(const char *s, size_t n) {
    while (n > 0) {
        ssize_t w = write(2, s, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        s += w;
        n -= (size_t)w;
    }
}

void weft_plat_sleep_ns(uint64_t ns) {
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ---- files and folders */

static int neg_errno(void) { return errno ? -errno : -EIO; }

int weft_plat_open_read_size(const char *path, int64_t *size) {
    int fd;
#ifdef __EMSCRIPTEN__
    /* Emscripten drops O_NONBLOCK before Node opens the file, and Node's open of a FIFO
     * waits for a writer: look first (a race only makes that rare case block) */
    struct stat pre;
    if (lstat(path, &pre) != 0) return neg_errno();
    if (S_ISLNK(pre.st_mode)) return -ELOOP;
    if (!S_ISREG(pre.st_mode)) return WEFT_PLAT_ENOTREG;
#endif
    /* O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below) */
    do fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    while (fd < 0 && errno == EINTR);
    if (fd < 0) return neg_errno();
    struct stat s;
    int rc = fstat(fd, &s) != 0 ? neg_errno() : !S_ISREG(s.st_mode) ? WEFT_PLAT_ENOTREG
                                                                    : 0;
    if (rc) {
        close(fd);
        return rc;
    }
    if (size) *size = (int64_t)s.st_size;
    return fd;
}

int weft_plat_open_read(const char *path) { return weft_plat_open_read_size(path, NULL); }

int weft_plat_create_excl(const char *path) {
    int fd;
    do fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? neg_errno() : fd;
}

int64_t weft_plat_read(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0) {
            if (errno == EINTR) continue;
            return neg_errno();
        }
        if (r == 0) break;
        got += (size_t)r;
    }
    return (int64_t)got;
}

int weft_plat_write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return neg_errno();
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int weft_plat_fsync(int fd) { return fsync(fd) ? neg_errno() : 0; }
int weft_plat_close(int fd) { return close(fd) && errno != EINTR ? neg_errno() : 0; }

static void fill_stat(const struct stat *s, weft_plat_file_info *st) {
    st->size = (int64_t)s->st_size;
    /* a file's time is anyone's to set: one past 2262 must not overflow */
    int64_t sec = (int64_t)s->st_mtim.tv_sec;
    if (sec > INT64_MAX / 1000000000 - 1)
        st->mtime_ns = INT64_MAX;
    else if (sec < INT64_MIN / 1000000000 + 1)
        st->mtime_ns = INT64_MIN;
    else
        st->mtime_ns = sec * 1000000000 + (int64_t)s->st_mtim.tv_nsec;
    st->is_dir = S_ISDIR(s->st_mode) != 0;
    st->is_regular = S_ISREG(s->st_mode) != 0;
}

int weft_plat_fstat(int fd, weft_plat_file_info *st) {
    struct stat s;
    if (fstat(fd, &s)) return neg_errno();
    fill_stat(&s, st);
    return 0;
}

int weft_plat_stat(const char *path, weft_plat_file_info *st) {
    struct stat s;
    if (stat(path, &s)) return neg_errno();
    fill_stat(&s, st);
    return 0;
}

int weft_plat_lstat(const char *path, weft_plat_file_info *st) {
    struct stat s;
    if (lstat(path, &s)) return neg_errno();
    fill_stat(&s, st);
    return 0;
}

#ifndef __EMSCRIPTEN__ /* platform/emscripten.c works around its runtime's utime */
int weft_plat_set_mtime(const char *path, int64_t mtime_ns) {
    struct timespec ts[2];
    ts[0].tv_sec = ts[1].tv_sec = (time_t)(mtime_ns / 1000000000);
    ts[0].tv_nsec = ts[1].tv_nsec = (long)(mtime_ns % 1000000000);
    return utimensat(AT_FDCWD, path, ts, 0) ? neg_errno() : 0;
}
#endif

int weft_plat_rename(const char *from, const char *to) { return rename(from, to) ? neg_errno() : 0; }
int weft_plat_unlink(const char *path) { return unlink(path) ? neg_errno() : 0; }
int weft_plat_rmdir(const char *path) { return rmdir(path) ? neg_errno() : 0; }

int weft_plat_mkdir(const char *path) {
    if (mkdir(path, 0755) == 0) return 0;
    int rc = neg_errno();
    struct stat s;
    if (rc == -EEXIST && stat(path, &s) == 0) return S_ISDIR(s.st_mode) ? 0 : -ENOTDIR;
    return rc;
}

int weft_plat_fsync_dir(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0; /* some hosts cannot open folders: nothing more to do */
    int rc = fsync(fd);
    close(fd);
    (void)rc; /* EINVAL/EBADF where folders cannot be synced */
    return 0;
}

int weft_plat_list_dir(const char *path, int (*fn)(const char *name, int is_dir, void *user),
                       void *user) {
    DIR *d = opendir(path);
    if (!d) return neg_errno();
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
            continue;
        int is_dir;
        if (e->d_type == DT_DIR)
            is_dir = 1;
        else if (e->d_type == DT_UNKNOWN) {
            size_t lp = strlen(path), ln = strlen(e->d_name);
            char *full = malloc(lp + ln + 2);
            struct stat s;
            if (!full) {
                rc = -ENOMEM;
                break;
            }
            memcpy(full, path, lp);
            full[lp] = '/';
            memcpy(full + lp + 1, e->d_name, ln + 1);
            is_dir = lstat(full, &s) == 0 && S_ISDIR(s.st_mode);
            free(full);
        } else
            is_dir = 0;
        rc = fn(e->d_name, is_dir, user);
    }
    if (rc == 0 && !e && errno) rc = neg_errno(); /* readdir failed: not the end */
    closedir(d);
    return rc;
}

/* Empty the folder open at `dfd` (it is closed here) of what `mine` accepts. */
static int remove_in(int dfd, int depth,
                     int (*mine)(const char *name, int depth_left, int is_dir, void *user), void *user) {
    DIR *d = fdopendir(dfd);
    if (!d) {
        int rc = neg_errno();
        close(dfd);
        return rc;
    }
    int rc = 0;
    struct dirent *e;
    while ((errno = 0, e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (name[0] == '.' && (!name[1] || (name[1] == '.' && !name[2]))) continue;
        struct stat s;
        if (fstatat(dirfd(d), name, &s, AT_SYMLINK_NOFOLLOW) != 0) continue; /* gone meanwhile */
        if (S_ISDIR(s.st_mode)) {
            if (depth <= 0 || !mine(name, depth, 1, user)) continue;
            int sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) continue; /* replaced by something else: not followed */
            int r = remove_in(sub, depth - 1, mine, user);
            if (r == 0 && unlinkat(dirfd(d), name, AT_REMOVEDIR) != 0 && errno != ENOENT &&
                errno != ENOTEMPTY && errno != EEXIST)
                r = neg_errno();
            if (r && !rc) rc = r;
        } else if (S_ISREG(s.st_mode) && mine(name, depth, 0, user)) {
            if (unlinkat(dirfd(d), name, 0) != 0 && errno != ENOENT && !rc) rc = neg_errno();
        }
    }
    if (!e && errno && !rc) rc = neg_errno();
    closedir(d);
    return rc;
}

int weft_plat_remove_tree(const char *path, int depth,
                          int (*mine)(const char *name, int depth_left, int is_dir, void *user),
                          void *user) {
    int dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    /* missing, or a link or file where the folder should be: nothing of weft's there */
    if (dfd < 0) return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0 : neg_errno();
    int rc = remove_in(dfd, depth, mine, user);
    if (rc == 0 && rmdir(path) != 0 && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST)
        rc = neg_errno();
    return rc;
}

int weft_plat_dir_writable(const char *path) {
    char probe[4096];
    unsigned char r[8] = {0};
    weft_plat_random(r, sizeof r);
    int n = snprintf(probe, sizeof probe, "%s/.weft-probe-%d-%02x%02x%02x%02x", path,
                     weft_plat_getpid(), r[0], r[1], r[2], r[3]);
    if (n < 0 || (size_t)n >= sizeof probe) return 0;
    int fd = weft_plat_create_excl(probe);
    if (fd < 0) return 0;
    close(fd);
    unlink(probe);
    return 1;
}

int weft_plat_map_shared(const char *path, size_t size, void **out) {
#if defined(__wasi__) || defined(__EMSCRIPTEN__)
    (void)path, (void)size, (void)out;
    return WEFT_PLAT_ENOSYS;
#else
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644);
    if (fd < 0) return neg_errno();
    struct stat st;
    int rc = fstat(fd, &st) ? neg_errno() : S_ISREG(st.st_mode) ? 0
                                                                : WEFT_PLAT_ENOTREG;
    /* Blocks first, then the mapping: a page of a sparse file that cannot get a block
     * (a full file system) kills its writer with SIGBUS. posix_fallocate returns the
     * error itself; where a file system cannot allocate, writing zeros does it. */
    if (rc == 0) {
        int err = posix_fallocate(fd, 0, (off_t)size);
        if (err == EINVAL || err == EOPNOTSUPP) {
            static const char zeros[256];
            err = 0;
            for (off_t at = st.st_size; !err && (size_t)at < size; at += (off_t)sizeof zeros) {
                size_t n = size - (size_t)at < sizeof zeros ? size - (size_t)at : sizeof zeros;
                if (pwrite(fd, zeros, n, at) != (ssize_t)n) err = errno ? errno : EIO;
            }
        }
        rc = -err;
    }
    void *p = rc == 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : MAP_FAILED;
    if (rc == 0 && p == MAP_FAILED) rc = neg_errno();
    close(fd);
    if (!rc) *out = p;
    return rc;
#endif
}

void weft_plat_prefer_huge_pages(void *p, size_t size) {
#if defined(MADV_HUGEPAGE) && !defined(__wasi__) && !defined(__EMSCRIPTEN__)
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1), to = ((uintptr_t)p + size) & ~(huge - 1);
    if (to > from) madvise((void *)from, to - from, MADV_HUGEPAGE);
#else
    (void)p, (void)size;
#endif
}

void weft_plat_unmap(void *p, size_t size) {
#if !defined(__wasi__) && !defined(__EMSCRIPTEN__)
    if (p) munmap(p, size);
#else
    (void)p, (void)size;
#endif
}

/* ---- process */

int weft_plat_getpid(void) {
#ifdef __wasi__
    return 1;
#else
    return (int)getpid();
#endif
}

int weft_plat_random(void *buf, size_t n) {
    unsigned char *p = buf;
    while (n > 0) {
        size_t k = n < 256 ? n : 256; /* getentropy's limit */
        if (getentropy(p, k)) return neg_errno();
        p += k;
        n -= k;
    }
    return 0;
}

int64_t weft_plat_wall_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

const char *weft_plat_strerror(int neg_errno) { return strerror(neg_errno < 0 ? -neg_errno : neg_errno); }
