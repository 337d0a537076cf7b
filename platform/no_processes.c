/* Hosts without processes (Emscripten, WASI): shared regions are plain memory, shared by
 * the threads there are. (Their empty list of native backends is native/none.c.) */
#include "platform.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 4096

int weft_plat_shm_create(size_t size, void **base, int *fd) {
    *fd = -1;
    size_t rounded = (size + PAGE - 1) / PAGE * PAGE;
    *base = aligned_alloc(PAGE, rounded ? rounded : PAGE);
    if (!*base) return -12; /* ENOMEM */
    memset(*base, 0, rounded ? rounded : PAGE);
    return 0;
}

int weft_plat_shm_map(int fd, size_t size, void **base) {
    (void)fd, (void)size;
    *base = NULL;
    return WEFT_PLAT_ENOSYS;
}

void weft_plat_shm_release(void *base, size_t size, int fd) {
    (void)size, (void)fd;
    free(base);
}
