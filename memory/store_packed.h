/* The packed store (memory/store_packed.c, native builds only): what the registry, the
 * weft tool and `weft cache migrate` need to know of it. */
#ifndef WEFT_STORE_PACKED_H
#define WEFT_STORE_PACKED_H

#include "store.h"

/* Larger values are files, as in the disk store (read without SQLite's copies). */
#define WEFT__PACKED_MAX_INLINE 32768
/* Chooses the store of new cache folders: "log" (the default), "packed" or "file". */
#define WEFT__STORE_ENV "WEFT_CACHE_STORE"

extern const weft_store weft__store_packed;
extern const weft_store weft__store_log; /* memory/store_log.c */

/* ---- store_folder.c */
/* Non-zero when the folder's marker says it is a packed cache. */
int weft__packed_is_packed(const char *dir);
/* The store new folders get (WEFT_CACHE_STORE, else the default). */
const weft_store *weft__folder_default_store(void);
/* 0, or WEFT_EINVAL with a message when WEFT_CACHE_STORE names no store. */
int weft__packed_env_check(void);
/* Where the disk store keeps an entry's file: 0, or WEFT_EINVAL when it does not fit. */
int weft__packed_file_path(const char *root, const char *task, const uint8_t key[16], char *buf,
                           size_t size);
/* A list callback that passes only temporary files on to the filter's callback. */
typedef struct weft__packed_filter {
    weft__store_list_fn fn;
    void *user;
} weft__packed_filter;
int weft__packed_temps_only(const weft__store_item *item, void *filter);
/* The bytes the folder takes on disk (allocated blocks of every file under it). */
int64_t weft__packed_folder_bytes(const char *dir);

/* ---- store_migrate.c: `weft cache migrate` */
/* Convert a cache folder of another store into one of the store new folders get
 * (packed or log), in place: 0 (*moved: entries moved; *dropped: damaged ones left to be
 * recomputed), or WEFT_E*. */
int weft__store_migrate(const char *dir, int64_t *moved, int64_t *dropped);
#endif
