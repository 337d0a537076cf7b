/* Shared regions: the table of regions this process knows, by handle. A region made here
 * has memory from the platform (a memfd natively) and its fd, which process backends pass
 * to their workers; a worker process adopts the fds its parent sends and maps each region
 * the first time a task asks for it. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

typedef struct region {
    uint64_t id;
    int fd;
    size_t size;
    void *base; /* NULL until mapped (adopted regions) */
    const void *owner;
    int borrowed; /* the memory is another layer's (weft__shared_adopt_at) */
} region;

static region *regions;
static size_t n_regions, cap_regions;
static uint64_t next_id = 1;
static atomic_uint_fast64_t generation;
static weft_plat_spinlock lock = WEFT_PLAT_SPINLOCK_INIT;

static void take(void) {
    weft_plat_spin_lock(&lock);
}
static void give(void) { weft_plat_spin_unlock(&lock); }

static region *find(uint64_t id) {
    for (size_t i = 0; i < n_regions; i++)
        if (regions[i].id == id) return &regions[i];
    return NULL;
}

static int append(const region *r) {
    if (n_regions == cap_regions) {
        size_t cap = cap_regions ? 2 * cap_regions : 16;
        region *grown = realloc(regions, cap * sizeof *grown);
        if (!grown) return WEFT_ENOMEM;
        regions = grown;
        cap_regions = cap;
    }
    regions[n_regions++] = *r;
    atomic_fetch_add(&generation, 1);
    return 0;
}

int weft__shared_alloc(weft_shared *out, size_t size, const void *owner, void **base) {
    region r = {.size = size, .owner = owner};
    int rc = weft_plat_shm_create(size, &r.base, &r.fd);
    if (rc) return weft__set_error(rc == -12 ? WEFT_ENOMEM : WEFT_ESYS, "shared region of %zu bytes: the system refused (error %d)", size, -rc);
    take();
    r.id = next_id++;
    rc = append(&r);
    give();
    if (rc) {
        weft_plat_shm_release(r.base, r.size, r.fd);
        return weft__set_error(rc, "shared region table: out of memory");
    }
    out->id = r.id;
    if (base) *base = r.base;
    return 0;
}

int weft_shared_alloc(weft_shared *out, size_t size) {
    if (!out) return weft__set_error(WEFT_EINVAL, "weft_shared_alloc: out is NULL");
    out->id = 0;
    if (size == 0) return weft__set_error(WEFT_EINVAL, "weft_shared_alloc: size is 0");
    int rc = weft__shared_alloc(out, size, NULL, NULL);
    if (rc == 0) weft__clear_error();
    return rc;
}

void weft__shared_set_id_base(uint64_t base) {
    take();
    if (next_id < base) next_id = base;
    give();
}

int weft__shared_adopt(uint64_t id, int fd, size_t size) {
    take();
    int rc = 0;
    if (find(id)) {
        weft_plat_shm_release(NULL, 0, fd); /* known already (a forked worker inherits) */
    } else {
        region r = {.id = id, .fd = fd, .size = size};
        rc = append(&r);
        if (rc) weft_plat_shm_release(NULL, 0, fd);
    }
    give();
    return rc;
}

int weft__shared_adopt_at(uint64_t id, void *base, size_t size) {
    take();
    region r = {.id = id, .fd = -1, .size = size, .base = base, .borrowed = 1};
    int rc = find(id) ? WEFT_EINVAL : append(&r);
    give();
    return rc;
}

void *weft_shared_ptr(weft_shared h) {
    take();
    region *r = find(h.id);
    void *base = NULL;
    if (r) {
        if (!r->base && r->fd >= 0 && weft_plat_shm_map(r->fd, r->size, &r->base) != 0)
            r->base = NULL;
        base = r->base;
    }
    give();
    return base;
}

size_t weft_shared_size(weft_shared h) {
    take();
    region *r = find(h.id);
    size_t size = r ? r->size : 0;
    give();
    return size;
}

void weft_shared_free(weft_shared h) {
    if (!h.id) return;
    take();
    region *r = find(h.id), gone = {0};
    if (r) {
        gone = *r;
        *r = regions[--n_regions];
        atomic_fetch_add(&generation, 1);
    }
    give();
    if (gone.id && !gone.borrowed) weft_plat_shm_release(gone.base, gone.size, gone.fd);
}

int weft__shared_find(const void *p, size_t len, uint64_t *id, size_t *offset) {
    const unsigned char *q = p;
    int found = -1;
    take();
    for (size_t i = 0; i < n_regions && found; i++) {
        const unsigned char *b = regions[i].base;
        if (b && q >= b && q <= b + regions[i].size && len <= (size_t)(b + regions[i].size - q)) {
            *id = regions[i].id;
            *offset = (size_t)(q - b);
            found = 0;
        }
    }
    give();
    return found;
}

uint64_t weft__shared_generation(void) { return atomic_load(&generation); }

weft__region *weft__shared_list(const void *owner, size_t *n) {
    take();
    weft__region *list = malloc((n_regions ? n_regions : 1) * sizeof *list);
    size_t k = 0;
    for (size_t i = 0; list && i < n_regions; i++)
        if (regions[i].fd >= 0 && (!regions[i].owner || regions[i].owner == owner)) {
            list[k].id = regions[i].id;
            list[k].fd = regions[i].fd;
            list[k].size = regions[i].size;
            k++;
        }
    give();
    *n = k;
    return list;
}
