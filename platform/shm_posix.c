/* Shared memory on Linux: an anonymous memfd (no name anywhere, so nothing to leak when a
 * process is killed), or on kernels without memfd a POSIX shm object whose name is
 * unlinked before anyone could see it. The memory is committed when the region is made. */
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int open_anonymous(void) {
#ifdef MFD_CLOEXEC
    int fd = memfd_create("weft-shared", MFD_CLOEXEC);
    if (fd >= 0 || errno != ENOSYS) return fd >= 0 ? fd : -errno;
#endif
    for (int attempt = 0; attempt < 16; attempt++) {
        char name[64];
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        snprintf(name, sizeof name, "/weft-%ld-%ld-%d", (long)getpid(), (long)ts.tv_nsec, attempt);
        int shm = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (shm >= 0) {
            shm_unlink(name);
            return shm;
        }
        if (errno != EEXIST) return -errno;
    }
    return -EEXIST;
}

int weft_plat_shm_create(size_t size, void **base, int *fd) {
    *base = NULL;
    *fd = -1;
    int f = open_anonymous();
    if (f < 0) return f;
    /* commit the memory now: a failure shows here instead of as SIGBUS in some task, and
       one call that allocates every page costs far less than a fault per page */
    if (ftruncate(f, (off_t)size) != 0 || (fallocate(f, 0, 0, (off_t)size) != 0 && errno != EOPNOTSUPP)) {
        int e = errno == ENOSPC ? -ENOMEM : -errno;
        close(f);
        return e;
    }
    /* populated: the pages exist already, so mapping them all at once spares a fault per
       page in the process that fills the region */
    void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, f, 0);
    if (p == MAP_FAILED) {
        int e = -errno;
        close(f);
        return e;
    }
    *base = p;
    *fd = f;
    return 0;
}

int weft_plat_shm_map(int fd, size_t size, void **base) {
    /* populated too: one call maps every page, instead of a fault per page later */
    void *p = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (p == MAP_FAILED) return *base = NULL, -errno;
    *base = p;
    return 0;
}

void weft_plat_shm_release(void *base, size_t size, int fd) {
    if (base) munmap(base, size ? size : 1);
    if (fd >= 0) close(fd);
}
