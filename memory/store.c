/* The store registry (a store per location scheme; a folder when none matches) and the
 * wrappers that give optional methods their defaults, so Memory calls every store alike. */
#include "store.h"
#ifdef WEFT_HAVE_PACKED
#include "store_packed.h"
#endif

#include <string.h>

#define MAX_STORES 8

static struct {
    const char *scheme;
    const weft_store *store;
} registry[MAX_STORES] = {{"memory:", &weft__store_memory}};
static int n_registered = 1;

int weft__store_register(const char *scheme, const weft_store *store) {
    if (!scheme || !*scheme || !store || store->version < 1 || store->version > WEFT_STORE_VERSION ||
        n_registered == MAX_STORES)
        return WEFT_EINVAL;
    for (int i = 0; i < n_registered; i++)
        if (strcmp(registry[i].scheme, scheme) == 0) return WEFT_EINVAL;
    registry[n_registered].scheme = scheme;
    registry[n_registered].store = store;
    n_registered++;
    return 0;
}

const weft_store *weft__store_for(const char *location) {
    for (int i = 0; i < n_registered; i++)
        if (strncmp(location, registry[i].scheme, strlen(registry[i].scheme)) == 0)
            return registry[i].store;
#ifdef WEFT_HAVE_PACKED
    /* a folder: its marker says which store made it; a new or empty one gets the default */
    /* (a marker that cannot be read: the packed store, whose open says why) */
    int kind = weft__disk_marker_kind(location);
    if (kind == WEFT__MARKER_LOG) return &weft__store_log;
    if (kind != 0) return &weft__store_packed;
    if (weft__disk_is_cache(location)) return &weft__store_disk;
    return weft__folder_default_store();
#endif
    return &weft__store_disk;
}

/* A version-1 vtable ends before the version-2 methods: never read past it. */
static int has_v2(const weft_store *s) { return s->version >= 2; }

void weft__store_get_many(const weft_store *s, void *state, weft__store_get *gets, size_t n) {
    if (has_v2(s) && s->get_many) {
        s->get_many(state, gets, n);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        weft__store_get *g = &gets[i];
        g->head = g->value = (weft_bytes){NULL, 0};
        g->last_access_ns = -1;
        g->rc = s->get(state, g->task, g->key, &g->head, &g->value, &g->last_access_ns);
    }
}

void weft__store_put_many(const weft_store *s, void *state, weft__store_put *puts, size_t n,
                          int fsync) {
    if (has_v2(s) && s->put_many) {
        s->put_many(state, puts, n, fsync);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        weft__store_put *p = &puts[i];
        p->rc = s->put(state, p->task, p->key, p->head, p->head_size, p->value, p->value_size, fsync);
    }
}

int weft__store_side_path(const weft_store *s, void *state, const char *name, char *buf,
                          size_t size) {
    if (!has_v2(s) || !s->side_path) return WEFT_ENOSYS;
    return s->side_path(state, name, buf, size);
}

int weft__store_read_only(const weft_store *s, void *state) {
    return s->version >= 3 && s->read_only ? s->read_only(state) : 0;
}

weft__store_summary_method weft__store_summary_of(const weft_store *s) {
    return s->version >= 3 ? s->summary : NULL;
}

weft__store_evict_method weft__store_evict_of(const weft_store *s) {
    return s->version >= 3 ? s->evict : NULL;
}
