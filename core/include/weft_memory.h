/** @file
 * weft -- Memory: cached calls of registered tasks with named, typed arguments, a cache
 * on disk, in memory or (in a browser) in IndexedDB, checkpoints, archives. weft.h
 * includes this header; it may also be included on its own. */
#ifndef WEFT_MEMORY_H
#define WEFT_MEMORY_H

#include "weft.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- Memory */

/** Named, typed arguments: what a cached call is keyed on, argument by argument, so that
 * a miss can be explained ("x[17] differs by 2e-3"). Their canonical encoding (names
 * sorted, little-endian, 8-byte aligned; docs/cache-format.md) is the input bytes the
 * task receives, so the same task also runs under weft_map_bytes with encoded inputs.
 *
 * Scalars and strings are copied. Bytes and arrays are BORROWED: the data must stay valid
 * and unchanged until the args are freed or reset (a 200 MB array is hashed in place,
 * never copied, on a hit). Errors are sticky: a bad add (NULL or empty name, a name
 * given twice, NULL data with a non-zero size, ndim outside 1..WEFT_ARGS_MAX_NDIM) makes
 * the add and every later call using these args fail with WEFT_EINVAL and a message
 * naming the argument. */
typedef enum weft_arg_type {
    WEFT_ARG_I64 = 1,
    WEFT_ARG_F64 = 2,
    WEFT_ARG_BOOL = 3,
    WEFT_ARG_STRING = 4,
    WEFT_ARG_BYTES = 5,
    WEFT_ARG_I32_ARRAY = 6,
    WEFT_ARG_I64_ARRAY = 7,
    WEFT_ARG_F32_ARRAY = 8,
    WEFT_ARG_F64_ARRAY = 9,
} weft_arg_type;
#define WEFT_ARGS_MAX_NDIM 8   /**< most dimensions of an array argument */
#define WEFT_ARGS_MAX_NAME 255 /**< longest argument (and task) name, in bytes */

/** A set of named, typed arguments (opaque); see above. */
typedef struct weft_args weft_args;
/** NULL when out of memory. */
WEFT_API weft_args *weft_args_new(void);
WEFT_API void weft_args_free(weft_args *a); /**< NULL is fine */
/** Forget every argument (and a sticky error), keeping the allocation for reuse. */
WEFT_API void weft_args_reset(weft_args *a);
/** Add a 64-bit integer argument. */
WEFT_API int weft_args_i64(weft_args *a, const char *name, int64_t v);
/** Add a double argument. */
WEFT_API int weft_args_f64(weft_args *a, const char *name, double v);
/** Add a boolean argument (any non-zero v is true). */
WEFT_API int weft_args_bool(weft_args *a, const char *name, int v);
WEFT_API int weft_args_string(weft_args *a, const char *name, const char *s);                /**< copied */
WEFT_API int weft_args_bytes(weft_args *a, const char *name, const void *data, size_t size); /**< borrowed */
/** Add an int32 array in C order with `ndim` dimensions of sizes shape[0..ndim); borrowed. */
WEFT_API int weft_args_i32_array(weft_args *a, const char *name, const int32_t *data, int ndim,
                                 const size_t *shape);
/** Add an int64 array, as weft_args_i32_array. */
WEFT_API int weft_args_i64_array(weft_args *a, const char *name, const int64_t *data, int ndim,
                                 const size_t *shape);
/** Add a float array, as weft_args_i32_array. */
WEFT_API int weft_args_f32_array(weft_args *a, const char *name, const float *data, int ndim,
                                 const size_t *shape);
/** Add a double array, as weft_args_i32_array. */
WEFT_API int weft_args_f64_array(weft_args *a, const char *name, const double *data, int ndim,
                                 const size_t *shape);
/** Opt-in tolerance for an f64/f32 argument (scalar or array) added before: values are
 * snapped to a grid before hashing, so values that round to the same grid point key
 * equal. abs_tol > 0: a grid of step abs_tol; rel_tol > 0: the mantissa is rounded to
 * the bits that rel_tol leaves (2^-b <= rel_tol). Either may be 0. Note that two values
 * closer than the tolerance can still straddle a grid line. The task still receives the
 * exact values. */
WEFT_API int weft_args_tolerance(weft_args *a, const char *name, double abs_tol, double rel_tol);
/** Number of arguments added. */
WEFT_API size_t weft_args_count(const weft_args *a);
/** The canonical encoding, in a buffer weft allocates (weft_bytes_free). */
WEFT_API int weft_args_encode(const weft_args *a, weft_bytes *out);

/** Replace a's arguments with those of a canonical encoding (weft_args_encode's bytes, a
 * task's input): the args, and so the key, that adding each argument with its weft_args_*
 * gives. Names are copied; strings, bytes and arrays are BORROWED from `in`, which must
 * stay valid and unchanged until the args are reset, freed or decoded again. Bytes that
 * are not such an encoding give WEFT_EINVAL, sticky as a bad add. A binding can build the
 * encoding in its own language and hand all the arguments over in one call. */
WEFT_API int weft_args_decode(weft_args *a, const void *in, size_t size);

/** Reading an encoding (a task's input): an int64 argument. Each weft_args_get_* returns
 * 0, WEFT_ENOTFOUND when no argument has that name, or WEFT_EINVAL when the bytes are not
 * an encoding or the argument has another type. Pointers point into the input (valid
 * while it is). */
WEFT_API int weft_args_get_i64(const void *in, size_t size, const char *name, int64_t *out);
/** A double argument (see weft_args_get_i64). */
WEFT_API int weft_args_get_f64(const void *in, size_t size, const char *name, double *out);
/** A boolean argument, 0 or 1 (see weft_args_get_i64). */
WEFT_API int weft_args_get_bool(const void *in, size_t size, const char *name, int *out);
/** A string argument: NUL-terminated; *len (may be NULL) excludes the NUL. */
WEFT_API int weft_args_get_string(const void *in, size_t size, const char *name, const char **s,
                                  size_t *len);
/** A bytes argument: its data and size in *n. */
WEFT_API int weft_args_get_bytes(const void *in, size_t size, const char *name, const void **data,
                                 size_t *n);
/** Any array: its type, data (8-byte aligned when `in` is), dimensions and element count
 * (shape may be NULL; else it has room for WEFT_ARGS_MAX_NDIM sizes). */
WEFT_API int weft_args_get_array(const void *in, size_t size, const char *name, weft_arg_type *type,
                                 const void **data, int *ndim, size_t *shape, size_t *count);
/** A double array, flattened: its data and element count. */
WEFT_API int weft_args_get_f64_array(const void *in, size_t size, const char *name,
                                     const double **data, size_t *count);
/** A float array, flattened. */
WEFT_API int weft_args_get_f32_array(const void *in, size_t size, const char *name, const float **data,
                                     size_t *count);
/** An int64 array, flattened. */
WEFT_API int weft_args_get_i64_array(const void *in, size_t size, const char *name,
                                     const int64_t **data, size_t *count);
/** An int32 array, flattened. */
WEFT_API int weft_args_get_i32_array(const void *in, size_t size, const char *name,
                                     const int32_t **data, size_t *count);

/** A cache of task results. Keys are XXH3-128 over (task name, task version, the
 * arguments' canonical encoding); values are what the task wrote with weft_output. One
 * entry format everywhere (docs/cache-format.md). Safe to share between threads, and
 * (the disk store) between processes: writers never block each other, readers never see
 * a torn entry, an entry failing its checksum is reported, removed and recomputed. */
typedef struct weft_memory weft_memory;

/** What a validation callback learns about a stored entry. */
typedef struct weft_entry_info {
    const char *task;         /**< the task's name */
    const char *task_version; /**< its version ("" when none was set) */
    int64_t created_ns;       /**< wall clock, ns since the Unix epoch */
    int64_t last_access_ns;   /**< approximate: updated at most once a minute */
    int64_t compute_ns;       /**< how long the task took */
    uint64_t value_size;      /**< bytes of the stored value */
    uint64_t input_size;      /**< bytes of the arguments' encoding */
} weft_entry_info;
/** Return non-zero to reject a stored value: the call then recomputes it. */
typedef int (*weft_validate_fn)(const weft_entry_info *info, const void *value, size_t size,
                                void *user);

/** How a cache behaves; WEFT_MEMORY_OPTIONS_INIT (or all zero) is the default. */
typedef struct weft_memory_options {
    int fsync;                 /**< 1: fsync each entry before renaming it into place */
    int64_t max_bytes;         /**< limits applied by prune, and on write when set; 0 = none */
    int64_t max_items;         /**< the most entries; 0 = none */
    double max_age_s;          /**< entries older than this (since creation) are misses */
    int debug;                 /**< journal and explain misses: 1 on; WEFT_NONE off; 0: as
                                WEFT_DEBUG says */
    int quiet;                 /**< 1: no warnings on stderr (corrupt entries, ...) */
    weft_validate_fn validate; /**< NULL: every stored value is valid */
    void *validate_user;       /**< passed to validate */
} weft_memory_options;
/** Every option at its default. */
#define WEFT_MEMORY_OPTIONS_INIT \
    { 0, 0, 0, 0, 0, 0, NULL, NULL }

/** Open a cache. `location`: a folder (created when missing, with its parents), or
 * "memory:" for an in-process store, or NULL for $WEFT_CACHE_DIR. A folder that holds
 * files but no weft marker is refused with WEFT_EFOREIGN; an unwritable one with
 * WEFT_ESYS and the reason. `o` may be NULL. */
WEFT_API int weft_memory_open(weft_memory **out, const char *location, const weft_memory_options *o);
WEFT_API void weft_memory_close(weft_memory *m); /**< NULL is fine */
/** The folder, or "memory:". */
WEFT_API const char *weft_memory_location(const weft_memory *m);

/** Per task: a version string that is part of the key (change it when the task's code
 * changes: the old entries of that task, and only those, stop matching; on a disk store
 * they are removed the first time the new version is used, and so are entries made
 * without a version when a first version is set); arguments to leave out of
 * the key (still passed to the task), as joblib's `ignore`. */
WEFT_API int weft_memory_set_version(weft_memory *m, const char *task, const char *version);
/** Leave argument `arg_name` of `task` out of its keys (see weft_memory_set_version). */
WEFT_API int weft_memory_ignore(weft_memory *m, const char *task, const char *arg_name);

/** The cached call: on a hit, *out receives the stored value; on a miss the task runs on
 * the calling thread with the encoding as its input and its output is stored and
 * returned. *out is allocated by weft (weft_bytes_free); `hit` may be NULL. A task
 * failure returns WEFT_ETASK (weft_last_error has its message) and stores nothing. */
WEFT_API int weft_memory_call(weft_memory *m, const weft_task_def *task, const weft_args *args,
                              weft_bytes *out, int *hit);
/** weft_memory_call with the arguments as their canonical encoding (weft_args_decode's
 * input): the same key, entry and task input. One call for a binding that builds the
 * encoding in its own language; bytes that are not an encoding give WEFT_EINVAL. */
WEFT_API int weft_memory_call_encoded(weft_memory *m, const weft_task_def *task, const void *in,
                                      size_t size, weft_bytes *out, int *hit);
/** 1 when a valid entry is stored, 0 when not, <0 on error. Computes nothing. */
WEFT_API int weft_memory_check(weft_memory *m, const weft_task_def *task, const weft_args *args);
/** The stored value without computing: 0, or WEFT_ENOTFOUND. */
WEFT_API int weft_memory_get(weft_memory *m, const weft_task_def *task, const weft_args *args,
                             weft_bytes *out);
/** Always run the task and replace the entry. */
WEFT_API int weft_memory_refresh(weft_memory *m, const weft_task_def *task, const weft_args *args,
                                 weft_bytes *out);

/** Shelve: make sure the result is stored (computing it on a miss) and get a small
 * handle to load it later, from this or another process (weft_shelf_format gives a
 * printable "task/keyhex" form and weft_shelf_parse reads it back). */
typedef struct weft_shelf {
    char task[WEFT_ARGS_MAX_NAME + 1]; /**< the task's name */
    uint8_t key[16];                   /**< the entry's key */
} weft_shelf;
/** Make sure the call's result is stored (computing it on a miss) and fill *ref. */
WEFT_API int weft_memory_shelve(weft_memory *m, const weft_task_def *task, const weft_args *args,
                                weft_shelf *ref);
/** The value a shelf handle refers to (weft_bytes_free), or WEFT_ENOTFOUND. */
WEFT_API int weft_shelf_load(weft_memory *m, const weft_shelf *ref, weft_bytes *out);
/** buf needs 256 + 33 + 1 bytes at most; returns the length written. */
WEFT_API size_t weft_shelf_format(const weft_shelf *ref, char *buf, size_t size);
/** Read a "task/keyhex" form back into *ref; WEFT_EINVAL when it is not one. */
WEFT_API int weft_shelf_parse(const char *s, weft_shelf *ref);
/** The key a call would use (32 hex digits + NUL into hex when not NULL). */
WEFT_API int weft_memory_key(weft_memory *m, const weft_task_def *task, const weft_args *args,
                             uint8_t key[16], char hex[33]);

/** Remove one task's entries, or every entry when task is NULL. */
WEFT_API int weft_memory_clear(weft_memory *m, const char *task);
/** Apply the limits (the options', or these when > 0): expired entries first, then the
 * least recently used until under max_bytes and max_items. *removed may be NULL. */
WEFT_API int weft_memory_prune(weft_memory *m, int64_t max_bytes, int64_t max_items, double max_age_s,
                               int64_t *removed);

/** A cache handle's counters. */
typedef struct weft_memory_stats {
    int64_t hits;         /**< calls answered from the cache */
    int64_t misses;       /**< calls that computed */
    int64_t stores;       /**< entries written */
    int64_t corrupt;      /**< entries found failing their checksum (removed, recomputed) */
    int64_t evicted;      /**< entries removed by the size and item limits */
    int64_t expired;      /**< entries removed or missed for their age */
    int64_t saved_ns;     /**< compute time that hits did not spend (sum of their compute_ns) */
    int64_t hashed_bytes; /**< argument bytes hashed */
} weft_memory_stats;
/** Counters of this handle since it was opened. */
WEFT_API int weft_memory_stats_get(const weft_memory *m, weft_memory_stats *s);

/** The last miss explanation this handle printed (debug mode), "" when none. */
WEFT_API const char *weft_memory_last_explanation(const weft_memory *m);

/** Archives: a cache (one task's entries, or all when task is NULL) in one file that any
 * platform's weft imports -- a native disk cache into a browser's IndexedDB, and back.
 * Only entries that pass their checksums are exported; an import checks each entry again,
 * skips corrupt ones and ones made with another version of a task than the cache keeps,
 * and stores the rest. A truncated or damaged archive gives WEFT_ECORRUPT after storing
 * the good entries before the damage. The file is written to a temporary name and renamed
 * into place. The _bytes forms work on a buffer (*out is freed with weft_bytes_free). */
typedef struct weft_import_stats {
    int64_t imported; /**< entries stored */
    int64_t skipped;  /**< skipped = corrupt + stale */
    int64_t corrupt;  /**< entries failing their checksum */
    int64_t stale;    /**< entries of another task version than the cache keeps */
} weft_import_stats;
/** Write the entries (of `task`, or all when NULL) to the archive file `path`;
 * *exported (may be NULL) receives their count. */
WEFT_API int weft_memory_export(weft_memory *m, const char *task, const char *path, int64_t *exported);
/** Like weft_memory_export, into a buffer weft allocates (weft_bytes_free). */
WEFT_API int weft_memory_export_bytes(weft_memory *m, const char *task, weft_bytes *out, int64_t *exported);
/** Store the entries of the archive file `path`; *stats (may be NULL) says what was
 * imported and skipped. */
WEFT_API int weft_memory_import(weft_memory *m, const char *path, weft_import_stats *stats);
/** Like weft_memory_import, from a buffer. */
WEFT_API int weft_memory_import_bytes(weft_memory *m, const void *data, size_t size, weft_import_stats *stats);

/** Checkpoints of iterative state: save (step, bytes) atomically, keep the newest K,
 * load the newest one that passes its checksum. A kill during a save leaves the
 * previous checkpoint loadable. Files: DIR/NAME/step-<20 digits>.wck. */
typedef struct weft_checkpoint weft_checkpoint;
/** keep <= 0 keeps 2. fsync: 1 to make each save durable against power loss. */
WEFT_API int weft_checkpoint_open(weft_checkpoint **out, const char *dir, const char *name, int keep,
                                  int fsync);
/** Close the handle (the files stay); NULL is fine. */
WEFT_API void weft_checkpoint_close(weft_checkpoint *c);
/** Save `size` bytes as the state at `step`, atomically, and drop checkpoints beyond the
 * newest `keep`. */
WEFT_API int weft_checkpoint_save(weft_checkpoint *c, int64_t step, const void *data, size_t size);
/** 0 and the newest valid checkpoint, or WEFT_ENOTFOUND when there is none. Invalid ones
 * found on the way are reported in *skipped (may be NULL). */
WEFT_API int weft_checkpoint_load(weft_checkpoint *c, int64_t *step, weft_bytes *out, int *skipped);

#ifdef __cplusplus
}
#endif
#endif
