/* `weft cache migrate DIR`: a cache folder of one store becomes one of the store new
 * folders get (WEFT_CACHE_STORE, else the default), in place: file per entry, packed
 * (SQLite) or log, into packed or log.
 *
 * The old store is opened first, then the marker is rewritten, so every process that
 * opens the folder from then on uses the new store; entries not moved yet are misses for
 * it (recomputed, never wrong). Each batch of entries is stored in the new store before
 * the old one lets it go. A file-per-entry folder killed midway loses nothing: run it
 * again to finish; a packed or log folder's entries not yet moved are recomputed. Large
 * values stay where they are: every store keeps them at the same path. Run it while no
 * other process uses the cache. */
#include "store_packed.h"

#include <dirent.h>
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

/* Move one batch: read each entry, store the batch in one go, then remove the files
 * whose entries the new store now holds (a file-per-entry source; large values stay where
 * they are). */
static int move_batch(const weft_store *from, void *fs, const weft_store *to, void *ps, found *v, size_t n,
                      int64_t *moved, int64_t *dropped) {
    weft__store_get gets[BATCH];
    weft__store_put puts[BATCH];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) gets[i] = (weft__store_get){.task = v[i].task, .key = v[i].key};
    weft__store_get_many(from, fs, gets, n);
    for (size_t i = 0; i < n; i++) {
        weft__entry e;
        int ok = gets[i].rc == 0 && weft__entry_parse(gets[i].head.data, gets[i].head.size, &e) == 0 &&
                 weft__entry_value_ok(&e, gets[i].value.data, gets[i].value.size);
        if (gets[i].rc == WEFT_ECORRUPT || (gets[i].rc == 0 && !ok)) {
            if (from == &weft__store_disk) from->remove(fs, v[i].task, v[i].key); /* damaged: recomputed when asked */
            (*dropped)++;
        }
        if (!ok) continue;
        puts[k++] = (weft__store_put){v[i].task, v[i].key, gets[i].head.data, gets[i].value.data,
                                      gets[i].head.size, gets[i].value.size, 0};
    }
    weft__store_put_many(to, ps, puts, k, 1);
    int rc = 0;
    for (size_t i = 0; i < k; i++) {
        if (puts[i].rc) {
            rc = puts[i].rc;
            continue;
        }
        (*moved)++;
        /* a large value's file is the new store's own copy now: it stays */
        if (from == &weft__store_disk && puts[i].value_size <= WEFT__PACKED_MAX_INLINE)
            from->remove(fs, puts[i].task, puts[i].key);
    }
    for (size_t i = 0; i < n; i++) free(gets[i].head.data), free(gets[i].value.data);
    return rc;
}

/* What a packed or log folder keeps beside the entries, removed once they moved. */
static void remove_old_files(const char *dir, const weft_store *from) {
    if (from == &weft__store_disk) return;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        int packed = strncmp(n, WEFT__PACKED_DB, strlen(WEFT__PACKED_DB)) == 0 && !strstr(n, ".damaged-");
        int log = strcmp(n, WEFT__LOG_INDEX) == 0 || strcmp(n, "weft.tasks") == 0 || strcmp(n, "weft.lock") == 0 ||
                  (strncmp(n, "seg-", 4) == 0 && len > 4 && strcmp(n + len - 4, ".wfl") == 0);
        if (from == &weft__store_packed ? !packed : !log) continue;
        char path[4200];
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, n) < sizeof path) weft_plat_unlink(path);
    }
    if (d) closedir(d);
}

int weft__store_migrate(const char *dir, int64_t *moved, int64_t *dropped) {
    *moved = *dropped = 0;
    const weft_store *to = weft__folder_default_store();
    if (to == &weft__store_disk)
        return weft__set_error(WEFT_EINVAL, "%s=file: new folders keep a file per entry, there is nothing to migrate into (use packed or log)", WEFT__STORE_ENV);
    if (!weft__disk_is_cache(dir))
        return weft__set_error(WEFT_EFOREIGN, "'%s' is not a weft cache (it has no %s written by weft)", dir, WEFT__DISK_MARKER);
    const weft_store *from = weft__store_for(dir);
    if (from == to) return 0;
    char marker[4200];
    if ((size_t)snprintf(marker, sizeof marker, "%s/%s", dir, WEFT__DISK_MARKER) >= sizeof marker)
        return weft__set_error(WEFT_EINVAL, "the cache path '%.64s...' is too long", dir);
    const char *text = to == &weft__store_log ? WEFT__LOG_MARKER_TEXT : WEFT__PACKED_MARKER_TEXT;
    void *ds = calloc(1, from->state_size), *ps = calloc(1, to->state_size);
    found_list l = {0};
    int rc = !ds || !ps ? WEFT_ENOMEM : from->open(ds, dir);
    if (!rc) {
        rc = weft__disk_write_file(marker, text, strlen(text), NULL, 0, 1);
        if (rc) rc = weft__set_error(WEFT_ESYS, "cannot rewrite '%s': %s", marker, weft_plat_strerror(rc));
        if (!rc) rc = to->open(ps, dir);
        if (!rc) {
            rc = from->list(ds, NULL, collect, &l);
            /* versions first: a task whose version is not in the new store would be
             * cleared by the first opener that checks it */
            for (size_t i = 0; !rc && i < l.n; i++) {
                char version[512];
                if (i && strcmp(l.v[i].task, l.v[i - 1].task) == 0) continue;
                if (from->get_meta(ds, l.v[i].task, "VERSION", version, sizeof version) == 0)
                    rc = to->put_meta(ps, l.v[i].task, "VERSION", version);
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
                rc = move_batch(from, ds, to, ps, batch, k, moved, dropped);
            }
            to->close(ps);
        }
        from->close(ds);
        if (!rc) remove_old_files(dir, from);
    }
    for (size_t i = 0; i < l.n; i++) free(l.v[i].task), free(l.v[i].temp_path);
    free(l.v);
    free(ds);
    free(ps);
    return rc;
}
