/* A reducer's fold is a function pointer, and every rank loads the program at its own
 * addresses: it travels as (image path, offset in that image) and is looked up again in
 * the receiving rank's copy of the same image. */
#define _GNU_SOURCE
#include "mpi_internal.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

int weft__mpi_locate(const void *fn, const char **image, uint64_t *offset) {
    Dl_info info;
    if (!fn || dladdr(fn, &info) == 0 || !info.dli_fbase || !info.dli_fname) return -1;
    *image = info.dli_fname;
    *offset = (uint64_t)((uintptr_t)fn - (uintptr_t)info.dli_fbase);
    return 0;
}

typedef struct lookup {
    const char *image;
    void *base;
} lookup;

/* dladdr on each loaded object's first segment names it the way weft__mpi_locate does. */
static int visit(struct dl_phdr_info *obj, size_t size, void *data) {
    (void)size;
    lookup *l = data;
    for (int i = 0; i < obj->dlpi_phnum; i++) {
        if (obj->dlpi_phdr[i].p_type != PT_LOAD) continue;
        Dl_info info;
        void *at = (void *)(uintptr_t)(obj->dlpi_addr + obj->dlpi_phdr[i].p_vaddr);
        if (dladdr(at, &info) && info.dli_fname && strcmp(info.dli_fname, l->image) == 0) {
            l->base = info.dli_fbase;
            return 1;
        }
        return 0;
    }
    return 0;
}

void *weft__mpi_resolve(const char *image, uint64_t offset) {
    lookup l = {image, NULL};
    dl_iterate_phdr(visit, &l);
    if (!l.base) return NULL;
    void *fn = (unsigned char *)l.base + offset;
    Dl_info info; /* still inside that image */
    if (dladdr(fn, &info) == 0 || info.dli_fbase != l.base) return NULL;
    return fn;
}
