/* An LD_PRELOAD shim that makes file-system calls fail on chosen paths, for the tests of
 * what weft does with I/O errors (tests/c/test_hostile_cache.c; tests/c/fault_shim.c is the counting one of the fault suites). Set in the environment:
 *   WEFT_FAULT_PATH   a substring: only paths holding it are affected
 *   WEFT_FAULT_OP     readdir  reading a matching folder fails midway (after its first name)
 *                     stat     stat/lstat of a matching path fails
 *                     hang     opening a matching path for reading never returns (a test
 *                              kills the process there)
 *   WEFT_FAULT_ERRNO  the error number (default EIO)
 * Native Linux only; not part of the library. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int op_is(const char *op) {
    const char *s = getenv("WEFT_FAULT_OP");
    return s && strcmp(s, op) == 0;
}

static int matches(const char *path) {
    const char *want = getenv("WEFT_FAULT_PATH");
    return path && want && *want && strstr(path, want) != NULL;
}

static int fault_errno(void) {
    const char *s = getenv("WEFT_FAULT_ERRNO");
    return s && atoi(s) > 0 ? atoi(s) : EIO;
}

/* Folders opened on a matching path (a few at a time is all the tests need). */
#define MAX_DIRS 64
static DIR *faulty[MAX_DIRS];
static int read_once[MAX_DIRS];

DIR *opendir(const char *path) {
    static DIR *(*real)(const char *);
    if (!real) real = (DIR * (*)(const char *)) dlsym(RTLD_NEXT, "opendir");
    DIR *d = real(path);
    if (d && op_is("readdir") && matches(path))
        for (int i = 0; i < MAX_DIRS; i++)
            if (!faulty[i]) {
                faulty[i] = d;
                read_once[i] = 0;
                break;
            }
    return d;
}

int closedir(DIR *d) {
    static int (*real)(DIR *);
    if (!real) real = (int (*)(DIR *))dlsym(RTLD_NEXT, "closedir");
    for (int i = 0; i < MAX_DIRS; i++)
        if (faulty[i] == d) faulty[i] = NULL;
    return real(d);
}

struct dirent *readdir(DIR *d) {
    static struct dirent *(*real)(DIR *);
    if (!real) real = (struct dirent * (*)(DIR *)) dlsym(RTLD_NEXT, "readdir");
    for (int i = 0; i < MAX_DIRS; i++)
        if (faulty[i] == d) {
            /* "." and ".." and one more name come through, then the error */
            if (read_once[i]++ >= 3) {
                errno = fault_errno();
                return NULL;
            }
        }
    return real(d);
}

int stat(const char *path, struct stat *st) {
    static int (*real)(const char *, struct stat *);
    if (!real) real = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "stat");
    if (op_is("stat") && matches(path)) {
        errno = fault_errno();
        return -1;
    }
    return real(path, st);
}

int lstat(const char *path, struct stat *st) {
    static int (*real)(const char *, struct stat *);
    if (!real) real = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "lstat");
    if (op_is("stat") && matches(path)) {
        errno = fault_errno();
        return -1;
    }
    return real(path, st);
}

static void maybe_hang(const char *path, int flags) {
    if (op_is("hang") && matches(path) && (flags & O_ACCMODE) == O_RDONLY)
        for (;;) pause();
}

int open(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
    va_end(ap);
    maybe_hang(path, flags);
    return real(path, flags, mode);
}

int open64(const char *path, int flags, ...) {
    static int (*real)(const char *, int, ...);
    if (!real) real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open64");
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & O_CREAT) ? (mode_t)va_arg(ap, int) : 0;
    va_end(ap);
    maybe_hang(path, flags);
    return real(path, flags, mode);
}
