/* Stores: where cache entries live, and the only storage seam of Memory: nothing outside
 * a store knows folders, files or paths. A versioned vtable of a few record operations
 * (get, put, remove, list, clear, and their batched forms) on opaque entries keyed by
 * (task, 16-byte key), found in a registry by location scheme (store.c):
 *   memory   a hash table in this process
 *   disk     a folder per task, a file per entry, fanned out by the key's first byte,
 *            written to a temporary file and renamed into place (no locks)
 * The entry bytes are the format of memory/entry.c (IndexedDB, in wasm/js, keeps the same): a header, then the value. Stores split
 * them so the value can land in its own buffer without a second copy. */
#ifndef WEFT_STORE_H
#define WEFT_STORE_H

#include "memory_internal.h"

#define WEFT_STORE_VERSION 3 /* 2: get_many, put_many, side_path; 3: summary, evict */

typedef struct weft__store_item {
    const char *task; /* the task name (decoded) */
    uint8_t key[16];
    int64_t size;           /* bytes the entry takes */
    int64_t last_access_ns; /* disk: the file's modification time */
    int is_temp;            /* a temporary file a writer left behind (disk) */
    int not_regular;        /* disk: a link, FIFO or other non-file at an entry's name */
    const char *path;       /* disk: the file; NULL elsewhere */
} weft__store_item;
/* One entry of a batched read: the request (task, key), then what get() would give. */
typedef struct weft__store_get {
    const char *task;
    const uint8_t *key;
    int no_access;          /* the caller needs no last_access_ns: a store may give -1 */
    weft_bytes head, value; /* malloc'd on success */
    int64_t last_access_ns;
    int rc; /* 0, WEFT_ENOTFOUND, WEFT_ECORRUPT, WEFT_ESYS */
} weft__store_get;

/* One entry of a batched write. */
typedef struct weft__store_put {
    const char *task;
    const uint8_t *key;
    const void *head, *value;
    size_t head_size, value_size;
    int rc; /* what put() returned */
} weft__store_put;

/* A list callback: 0 goes on, anything else stops the listing and is returned. */
typedef int (*weft__store_list_fn)(const weft__store_item *item, void *user);
/* A summary callback, once per task with entries: 0 goes on. */
typedef int (*weft__store_summary_fn)(const char *task, int64_t entries, int64_t bytes,
                                      int64_t compute_ns, int64_t newest_access_ns, void *user);
/* What an eviction removed, and what is left. */
typedef struct weft__store_evicted {
    int64_t expired, expired_bytes, evicted, evicted_bytes, items_left, bytes_left;
} weft__store_evicted;

typedef struct weft_store {
    int version;       /* WEFT_STORE_VERSION */
    const char *name;  /* "disk", "memory" */
    size_t state_size; /* private state weft allocates, zeroed */
    /* Open on a location (disk: an existing, writable folder). 0 or WEFT_E*. */
    int (*open)(void *state, const char *location);
    void (*close)(void *state);
    /* Read an entry: *head gets its header, *value its value (both malloc'd).
     * *last_access_ns: when last used, -1 when the store does not say on a read.
     * 0, WEFT_ENOTFOUND, WEFT_ECORRUPT (shorter than its header says), WEFT_ESYS. */
    int (*get)(void *state, const char *task, const uint8_t key[16], weft_bytes *head,
               weft_bytes *value, int64_t *last_access_ns);
    /* Store an entry, replacing any other; readers see the old or the new one whole. */
    int (*put)(void *state, const char *task, const uint8_t key[16], const void *head,
               size_t head_size, const void *value, size_t value_size, int fsync);
    /* 0, or WEFT_ENOTFOUND. */
    int (*remove)(void *state, const char *task, const uint8_t key[16]);
    /* Optional: record an access now (approximate LRU). */
    int (*touch)(void *state, const char *task, const uint8_t key[16], int64_t now_ns);
    /* Every entry of a task (NULL: of every task), temporary files included. */
    int (*list)(void *state, const char *task, weft__store_list_fn fn, void *user);
    /* Optional: remove a temporary file a listing reported. */
    int (*remove_temp)(void *state, const weft__store_item *item);
    /* Remove a task's entries (NULL: every task's). */
    int (*clear)(void *state, const char *task);
    /* Optional: a small per-task value (the task version). get: 0 or WEFT_ENOTFOUND. */
    int (*get_meta)(void *state, const char *task, const char *name, char *buf, size_t size);
    int (*put_meta)(void *state, const char *task, const char *name, const char *value);
    /* ---- version 2 */
    /* Optional: a batch of reads or writes in one go (one transaction, one index read);
     * without them weft__store_get_many / _put_many call get / put once per entry. */
    void (*get_many)(void *state, weft__store_get *gets, size_t n);
    void (*put_many)(void *state, weft__store_put *puts, size_t n, int fsync);
    /* Optional: where a side file of Memory's lives (the journal, the shared generation
     * counter), for stores on a file system. 0, or WEFT_ENOSYS when there is none. */
    int (*side_path)(void *state, const char *name, char *buf, size_t size);
    /* ---- version 3 */
    /* Optional: non-zero when the store can serve reads but not take writes (a cache
     * folder this process may not write to). */
    int (*read_only)(void *state);
    /* Optional: per-task totals from an index, without reading entries, and the bytes
     * the store takes on disk (*disk_bytes, when not NULL). */
    int (*summary)(void *state, weft__store_summary_fn fn, void *user, int64_t *disk_bytes);
    /* Optional: remove the entries last used before before_ns (when > 0), then the least
     * recently used until at most max_items / max_bytes are left (0: no limit), at a cost
     * in the entries removed, not in those kept. */
    int (*evict)(void *state, int64_t max_bytes, int64_t max_items, int64_t before_ns,
                 weft__store_evicted *out);
} weft_store;

/* ---- store.c: the registry and the thin wrappers Memory calls stores through */
/* The store for a location: by scheme ("memory:"), else a folder (disk). */
const weft_store *weft__store_for(const char *location);
/* Register a store for locations starting with `scheme` (e.g. "memory:"). 0 or
 * WEFT_EINVAL (a NULL or unversioned vtable, a full registry, a scheme taken). */
int weft__store_register(const char *scheme, const weft_store *store);
void weft__store_get_many(const weft_store *s, void *state, weft__store_get *gets, size_t n);
void weft__store_put_many(const weft_store *s, void *state, weft__store_put *puts, size_t n,
                          int fsync);
/* 0 and the path, or WEFT_ENOSYS where the store keeps no files. */
int weft__store_side_path(const weft_store *s, void *state, const char *name, char *buf,
                          size_t size);
int weft__store_read_only(const weft_store *s, void *state);
/* The optional version-3 methods, or NULL (older vtables, stores without them). */
typedef int (*weft__store_summary_method)(void *, weft__store_summary_fn, void *, int64_t *);
typedef int (*weft__store_evict_method)(void *, int64_t, int64_t, int64_t, weft__store_evicted *);
weft__store_summary_method weft__store_summary_of(const weft_store *s);
weft__store_evict_method weft__store_evict_of(const weft_store *s);

extern const weft_store weft__store_memory;
extern const weft_store weft__store_disk;

/* The disk layout, shared with the weft tool. */
#define WEFT__DISK_MARKER "CACHEDIR.TAG"
#define WEFT__DISK_MARKER_TEXT                                                    \
    "Signature: 8a477f597d28d172789f06886806bc55\n"                               \
    "# This folder is a weft cache (entry format 1): see docs/cache-format.md.\n" \
    "# Backup tools that honour CACHEDIR.TAG skip it.\n"
/* The database of a packed cache folder, and its marker: the disk store's marker text
 * plus the words that tell a packed folder from a file-per-entry one. */
#define WEFT__PACKED_DB "weft.db"
#define WEFT__PACKED_WORDS "packed store: " WEFT__PACKED_DB
#define WEFT__PACKED_MARKER_TEXT                                                                          \
    "Signature: 8a477f597d28d172789f06886806bc55\n"                                                       \
    "# This folder is a weft cache (entry format 1, " WEFT__PACKED_WORDS "): see docs/cache-format.md.\n" \
    "# Backup tools that honour CACHEDIR.TAG skip it.\n"
/* The log store's folder (memory/store_log.c): its index, and its marker's words. */
#define WEFT__LOG_INDEX "weft.idx"
#define WEFT__LOG_WORDS "log store: " WEFT__LOG_INDEX
#define WEFT__LOG_MARKER_TEXT                                                                          \
    "Signature: 8a477f597d28d172789f06886806bc55\n"                                                    \
    "# This folder is a weft cache (entry format 1, " WEFT__LOG_WORDS "): see docs/cache-format.md.\n" \
    "# Backup tools that honour CACHEDIR.TAG skip it.\n"
/* Non-zero when a cache folder's marker says the packed store made it. */
int weft__disk_marker_is_packed(const char *dir);
/* WEFT__MARKER_PACKED or WEFT__MARKER_LOG: the marker says which store made the folder;
 * 0: a file-per-entry folder (or no marker); < 0: it could not be read (a negative
 * errno). */
enum { WEFT__MARKER_PACKED = 1,
       WEFT__MARKER_LOG = 2 };
int weft__disk_marker_kind(const char *dir);
#define WEFT__DISK_SUFFIX ".wfe"
#define WEFT__DISK_TEMP_PREFIX ".tmp-"
/* A temporary file untouched this long is a killed writer's litter, safe to remove. */
#define WEFT__DISK_TEMP_STALE_NS (600ll * 1000000000)
/* Escape a task name into a folder name ([A-Za-z0-9_-] and inner dots kept, others
 * %XX); returns the length, or 0 when it does not fit. And back. */
size_t weft__disk_escape(const char *task, char *out, size_t size);
size_t weft__disk_unescape(const char *folder, char *out, size_t size);
/* Non-zero when the folder carries the weft marker. */
int weft__disk_is_cache(const char *dir);
/* Make `dir` a weft cache with this marker text, or check that it is one; *read_only:
 * one this process cannot write to. A folder holding other files is refused
 * (WEFT_EFOREIGN). 0 or WEFT_E*. */
int weft__disk_prepare(const char *dir, const char *marker_text, int *read_only);
/* Write a file atomically: a temporary file in the same folder holding a then b (b may
 * be NULL), fsync'd when asked, renamed over `path`. 0 or a negative errno. */
int weft__disk_write_file(const char *path, const void *a, size_t a_size, const void *b,
                          size_t b_size, int fsync);
/* Remove a folder and what weft made in it (folders nested at most `depth` deep), never
 * following a link and never removing a file weft does not make. */
int weft__disk_remove_tree(const char *path, int depth);
#endif
