/* `weft cache migrate DIR`: a file-per-entry cache folder becomes a packed one, in place.
 *
 * The marker is rewritten first, so every process that opens the folder from then on
 * uses the packed store; entries not moved yet are misses for it (recomputed, never
 * wrong). Each batch of entries is committed to the database before its files go, so a
 * migration killed midway loses nothing: run it again to finish. */
#include "store_packed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 256

typedef struct found {
    char *task;
    uint8_t key[16];
    char *temp_path; /* a temporary file: removed */
} found;

typedef struct found_list {
    found *v;
    size_t n, cap;
} found_list;

static int collect(const weft__store_item *it, void *user) {
    found_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 1024;
        found *v = realloc(l->v, cap * sizeof *v);
        if (!v) return WEFT_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    found *f = &l->v[l->n];
    memset(f, 0, sizeof *f);
    size_t tl = strlen(it->task) + 1;
    if (!(f->task = malloc(tl))) return WEFT_ENOMEM;
    memcpy(f->task, it->task, tl);
    memcpy(f->key, it->key, 16);
    if (it->is_temp && it->path) {
        size_t pl = strlen(it->path) + 1;
        if (!(f->temp_path = malloc(pl))) return free(f->task), WEFT_ENOMEM;
        memcpy(f->temp_path, it->path, pl);
    }
    l->n++;
    return 0;
}

/* Move one batch: read each file, store the batch in one transaction, then remove the
 * files whose entries the database now holds (large values stay where they are). */
static int move_batch(const weft_store *disk, void *ds, void *ps, found *v, size_t n,
                      int64_t *moved, int64_t *dropped) {
    weft__store_get gets[BATCH];
    weft__store_put puts[BATCH];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) gets[i] = (weft__store_get){.task = v[i].task, .key = v[i].key};
    weft__store_get_many(disk, ds, gets, n);
    for (size_t i = 0; i < n; i++) {
        weft__entry e;
        int ok = gets[i].rc == 0 && weft__entry_parse(gets[i].head.data, gets[i].head.size, &e) == 0 &&
                 weft__entry_value_ok(&e, gets[i].value.data, gets[i].value.size);
        if (gets[i].rc == WEFT_ECORRUPT || (gets[i].rc == 0 && !ok)) {
            disk->remove(ds, v[i].task, v[i].key); /* damaged: recomputed when asked */
            (*dropped)++;
        }
        if (!ok) continue;
        puts[k++] = (weft__store_put){v[i].task, v[i].key, gets[i].head.data, gets[i].value.data,
                                      gets[i].head.size, gets[i].value.size, 0};
    }
    weft__store_put_many(&weft__store_packed, ps, puts, k, 1);
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        if (puts[i].rc) {
            rc = puts[i].rc;
            continue;
        }
        (*moved)++;
        /* a large value's file is the packed store's own copy now: it stays */
        if (puts[i].value_size <= WEFT__PACKED_MAX_INLINE) disk->remove(ds, puts[i].task, puts[i].key);
    }
    for (size_t i = 0; i < n; i++) free(gets[i].head.data), free(gets[i].value.data);
    return rc;
}

int weft__store_migrate(const char *dir, int64_t *moved, int64_t *dropped) {
    *moved = *dropped = 0;
    if (weft__packed_is_packed(dir)) return 0;
    if (!weft__disk_is_cache(dir))
        return weft__set_error(WEFT_EFOREIGN, "'%s' is not a weft cache (it has no %s written by weft)", dir, WEFT__DISK_MARKER);
    char marker[4200];
    if ((size_t)snprintf(marker, sizeof marker, "%s/%s", dir, WEFT__DISK_MARKER) >= sizeof marker)
        return weft__set_error(WEFT_EINVAL, "the cache path '%.64s...' is too long", dir);
    int rc = weft__disk_write_file(marker, WEFT__PACKED_MARKER_TEXT, strlen(WEFT__PACKED_MARKER_TEXT), NULL, 0, 1);
    if (rc) return weft__set_error(WEFT_ESYS, "cannot rewrite '%s': %s", marker, weft_plat_strerror(rc));
    const weft_store *disk = &weft__store_disk, *packed = &weft__store_packed;
    void *ds = calloc(1, disk->state_size), *ps = calloc(1, packed->state_size);
    found_list l = {0};
    rc = !ds || !ps ? WEFT_ENOMEM : disk->open(ds, dir);
    if (!rc) {
        rc = packed->open(ps, dir);
        if (!rc) {
            rc = disk->list(ds, NULL, collect, &l);
            /* versions first: a task whose version is not in the database would be
             * cleared by the first opener that checks it */
            for (size_t i = 0; !rc && i < l.n; i++) {
                char version[512];
                if (i && strcmp(l.v[i].task, l.v[i - 1].task) == 0) continue;
                if (disk->get_meta(ds, l.v[i].task, "VERSION", version, sizeof version) == 0)
                    rc = packed->put_meta(ps, l.v[i].task, "VERSION", version);
            }
            size_t at = 0;
            while (!rc && at < l.n) {
                found batch[BATCH];
                size_t k = 0;
                for (; at < l.n && k < BATCH; at++) {
                    if (l.v[at].temp_path)
                        weft_plat_unlink(l.v[at].temp_path);
                    else
                        batch[k++] = l.v[at];
                }
                rc = move_batch(disk, ds, ps, batch, k, moved, dropped);
            }
            packed->close(ps);
        }
        disk->close(ds);
    }
    for (size_t i = 0; i < l.n; i++) free(l.v[i].task), free(l.v[i].temp_path);
    free(l.v);
    free(ds);
    free(ps);
    return rc;
}
