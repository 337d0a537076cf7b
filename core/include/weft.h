/** @file
 * weft — a parallel map for C programs, the same task code from a laptop to a web page.
 *
 * The one public header. Every call returns 0 on success or a negative WEFT_E* code;
 * weft_last_error() then tells the calling thread what failed, including the index and
 * message of a failing task.
 *
 * Argument order, everywhere: a call that creates a handle (weft_pool_open, weft_imap,
 * weft_memory_open, weft_checkpoint_open, weft_shared_alloc) takes the new handle's
 * address first; every other call takes the object it works on first and its results
 * last. (weft_args_new, which can fail only for lack of memory, returns its handle or
 * NULL, like malloc.) Each handle has one matching _close or _free.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>

/* Only the public API leaves the shared library, which is built with hidden visibility. */
#if defined(__GNUC__) || defined(__clang__)
#define WEFT_API __attribute__((visibility("default")))
#else
#define WEFT_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_VERSION_MAJOR 0 /**< major version: changes break the API */
#define WEFT_VERSION_MINOR 1 /**< minor version: additions */
#define WEFT_VERSION_PATCH 0 /**< patch version: fixes */
/** The library's version, "MAJOR.MINOR.PATCH" (of the library linked, not the header). */
WEFT_API const char *weft_version(void);

/* ---------------------------------------------------------------- errors */

/** One table: the enum, the names and the messages all come from here. Each row is
 * X(NAME, code, message): the code WEFT_NAME (e.g. WEFT_EINVAL = -1), which
 * weft_error_name() gives as "WEFT_NAME" and weft_strerror() as the message.
 *
 * | code | value | meaning |
 * |---|---|---|
 * | WEFT_EINVAL | -1 | invalid argument |
 * | WEFT_ENOMEM | -2 | out of memory |
 * | WEFT_ENOTASK | -3 | no task is registered under that name |
 * | WEFT_ENOBACKEND | -4 | no backend is registered under that name |
 * | WEFT_ETASK | -5 | a task failed (weft_last_error() names it) |
 * | WEFT_ECANCELED | -6 | the call was cancelled (Ctrl-C, a progress callback) |
 * | WEFT_EOUTSIZE | -7 | a task wrote an output of the wrong size |
 * | WEFT_ENV | -8 | an environment variable has a value weft does not accept |
 * | WEFT_ENOSYS | -9 | not supported on this platform or backend |
 * | WEFT_ESYS | -10 | a system call failed |
 * | WEFT_ECONFIG | -11 | configuration stack misuse (pop without push) |
 * | WEFT_ETIMEDOUT | -12 | timed out (task_timeout_s, timeout_s) |
 * | WEFT_ENOTFOUND | -13 | no such cache entry or checkpoint |
 * | WEFT_ECORRUPT | -14 | stored data failed its checksum |
 * | WEFT_EFOREIGN | -15 | the folder holds files but is not a weft cache |
 * | WEFT_ECRASHED | -16 | a worker process died while running a task |
 */
#define WEFT_ERROR_MAP(X)                                                  \
    X(EINVAL, -1, "invalid argument")                                      \
    X(ENOMEM, -2, "out of memory")                                         \
    X(ENOTASK, -3, "no task is registered under that name")                \
    X(ENOBACKEND, -4, "no backend is registered under that name")          \
    X(ETASK, -5, "a task failed")                                          \
    X(ECANCELED, -6, "the call was cancelled")                             \
    X(EOUTSIZE, -7, "a task wrote an output of the wrong size")            \
    X(ENV, -8, "an environment variable has a value weft does not accept") \
    X(ENOSYS, -9, "not supported on this platform")                        \
    X(ESYS, -10, "a system call failed")                                   \
    X(ECONFIG, -11, "configuration stack misuse (pop without push)")       \
    X(ETIMEDOUT, -12, "timed out")                                         \
    X(ENOTFOUND, -13, "no such cache entry or checkpoint")                 \
    X(ECORRUPT, -14, "stored data failed its checksum")                    \
    X(EFOREIGN, -15, "the folder holds files but is not a weft cache")     \
    X(ECRASHED, -16, "a worker process died while running a task")

/** The error codes: WEFT_OK and the negative WEFT_E* codes of WEFT_ERROR_MAP. */
typedef enum weft_error_code {
    WEFT_OK = 0, /**< success */
#define WEFT__ENUM(name, code, msg) WEFT_##name = code,
    WEFT_ERROR_MAP(WEFT__ENUM)
#undef WEFT__ENUM
} weft_error_code;

/** "WEFT_EINVAL" etc.; unknown codes give "WEFT_UNKNOWN". Never NULL. */
WEFT_API const char *weft_error_name(int code);
/** A short sentence; unknown codes give "unknown error". Never NULL. */
WEFT_API const char *weft_strerror(int code);

/** What the last failing weft call on this thread reported. Thread-local, so concurrent
 * callers sharing one pool never overwrite each other's record. */
typedef struct weft_error {
    int code;           /**< WEFT_OK when the last call succeeded */
    int task_status;    /**< the non-zero value a failing task returned, or 0 */
    int64_t task_index; /**< index of the failing task, or -1 */
    char task_name[64]; /**< its registered name, or "" */
    char message[256];  /**< the task's message, or weft's own explanation */
} weft_error;
/** This thread's record of the last failing call (never NULL); its code is WEFT_OK when
 * the last call succeeded. */
WEFT_API const weft_error *weft_last_error(void);

/* ---------------------------------------------------------------- tasks */

typedef struct weft_task weft_task; /**< a running task's context, valid during the call */
/** A task: reads weft_input(), writes weft_output(), returns 0 or non-zero to fail. */
typedef int (*weft_task_fn)(weft_task *t);

/** A task's definition: its name (how every process and build finds it) and function. */
typedef struct weft_task_def {
    const char *name; /**< the registered name, unique in the program */
    weft_task_fn fn;  /**< the function */
} weft_task_def;

/** Register a task. The definition must outlive the program (the macro uses a static).
 * Registering a second task under a name already taken fails with WEFT_EINVAL. */
WEFT_API int weft_task_register(const weft_task_def *def);
/** NULL when no task has that name. */
WEFT_API const weft_task_def *weft_task_find(const char *name);
/** Number of registered tasks. */
WEFT_API size_t weft_task_count(void);
/** The i-th registered task in name order; NULL past the end. */
WEFT_API const weft_task_def *weft_task_at(size_t i);

/** WEFT_TASK(fn) registers `fn` under the name "fn" before main() runs.
 * WEFT_FN(fn) is its definition, for weft_map & co. in the same file;
 * other files use WEFT_TASK_DECLARE(fn) first, or weft_task_find("fn"). */
#define WEFT_TASK(fn)                                                    \
    const weft_task_def weft__task_##fn = {#fn, fn};                     \
    __attribute__((constructor)) static void weft__register_##fn(void) { \
        weft_task_register(&weft__task_##fn);                            \
    }
/** Declare a task that WEFT_TASK(fn) registers in another file, for WEFT_FN(fn) here. */
#define WEFT_TASK_DECLARE(fn) extern const weft_task_def weft__task_##fn
/** The definition (`const weft_task_def *`) of a task registered by WEFT_TASK(fn). */
#define WEFT_FN(fn) (&weft__task_##fn)

/** Inside a task: its input. Borrowed: valid until the task returns. */
WEFT_API const void *weft_input(const weft_task *t);
/** Inside a task: the size of its input in bytes. */
WEFT_API size_t weft_input_size(const weft_task *t);
/** Copy the task's output out. For fixed-size maps `size` must equal the map's output
 * size (else WEFT_EOUTSIZE); for variable-size maps any size, also 0. Call once. */
WEFT_API int weft_output(weft_task *t, const void *data, size_t size);
/** Index of this item in the map (0-based). */
WEFT_API size_t weft_task_index(const weft_task *t);
/** The worker running this task (0 = the calling thread). */
WEFT_API int weft_worker_id(const weft_task *t);
/** The nesting level (0 = a map called outside any task, 1 = a map inside a task, ...). */
WEFT_API int weft_nesting_level(const weft_task *t);
/** CPUs this task may use for its own threads (an OpenMP region, a BLAS call, a pool it
 * opens): its share of the one CPU budget (docs/nested.md). In a worker process of an
 * n_jobs = k processes map that is weft_cpu_count() there, budget / k (at least 1); on a
 * threads pool of W workers, weft_cpu_count() / W (at least 1). */
WEFT_API int weft_task_cpus(const weft_task *t);
/** Non-zero once the map is being stopped (another task failed, the progress callback
 * asked to cancel): a long task may poll this and return early. */
WEFT_API int weft_cancelled(const weft_task *t);
/** Attach a message (printf-style) to a failing task; returns WEFT_ETASK, so a task can
 * `return weft_fail(t, "bad input %d", x);`. */
WEFT_API int weft_fail(weft_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The common cases of weft_task_index and weft_output, inlined into the task: a task of a
 * few nanoseconds (a reduce, a stream) would otherwise spend much of its time calling into
 * the library. Every weft_task starts with these fields, so their layout is part of the
 * ABI: a program built against this header reads them. What the inline path does not take
 * (an output of another size, a second output, NULL data, a variable-size output) goes to
 * the exported function, which checks it as before; `(weft_output)(t, ...)`, or defining
 * WEFT_NO_INLINE before including weft.h, always calls the function. */
typedef struct weft__task_head {
    size_t index;       /* the item in its job */
    size_t index_base;  /* weft_task_index: index + index_base */
    void *output;       /* an output of exactly output_size bytes goes here */
    size_t output_size; /* SIZE_MAX: no slot, every output takes the exported function */
    int written;        /* weft_output was called */
} weft__task_head;

#ifndef WEFT_NO_INLINE
static inline size_t weft__task_index(const weft_task *t) {
    const weft__task_head *h = (const weft__task_head *)t;
    return h->index + h->index_base;
}
static inline int weft__output(weft_task *t, const void *data, size_t size) {
    weft__task_head *h = (weft__task_head *)t;
    if (size == h->output_size && size != SIZE_MAX && data && !h->written) {
        __builtin_memcpy(h->output, data, size);
        h->written = 1;
        return 0;
    }
    return (weft_output)(t, data, size);
}
/** weft_task_index, inline (define WEFT_NO_INLINE, or write (weft_task_index)(t), for the call). */
#define weft_task_index(t) weft__task_index(t)
/** weft_output, inline for an output of the map's out_size (others go to the function). */
#define weft_output(t, data, size) weft__output((t), (data), (size))
#endif

/* ---------------------------------------------------------------- options, pools */

/** What a progress callback receives. */
typedef struct weft_progress {
    size_t done;        /**< items finished */
    size_t total;       /**< items in the call; 0 while streaming from a source of unknown length */
    double elapsed_s;   /**< seconds since the call started */
    double remaining_s; /**< estimate; negative while unknown */
} weft_progress;
/** Return non-zero to cancel the call (it then returns WEFT_ECANCELED). */
typedef int (*weft_progress_fn)(const weft_progress *p, void *user);

/** Options. A field left 0 (NULL) inherits: from the innermost scope, then the
 * environment, then the default, so `weft_options o = {.backend = "processes",
 * .n_jobs = 4};` is complete. WEFT_NONE asks for a field's "none" over what a scope or
 * the environment says: automatic batches, silence, no retries, no pause, no time limit,
 * no shared-memory threshold. */
#define WEFT_NONE (-1)

/** A pool's or a scope's options; see WEFT_NONE for how fields inherit. */
typedef struct weft_options {
    const char *backend;        /**< "sequential", "threads", "processes", ...;
                                  default "threads" ("sequential" where there are none) */
    int n_jobs;                 /**< -1 all CPUs (the default), -2 all but one, N > 0 */
    int batch_size;             /**< items per batch; default (and WEFT_NONE): automatic */
    int verbose;                /**< 1.. progress on stderr; default (and WEFT_NONE): silent */
    weft_progress_fn progress;  /**< called with progress; may cancel */
    void *progress_user;        /**< passed to `progress` */
    int retries;                /**< extra attempts for a failing task; default none */
    double retry_backoff_s;     /**< pause before the first retry, doubled after each;
                                  default 0.01 s; WEFT_NONE: no pause */
    double task_timeout_s;      /**< per task: weft_cancelled() turns true and the task fails
                                  with WEFT_ETIMEDOUT past it; default none */
    double timeout_s;           /**< per call: the call stops with WEFT_ETIMEDOUT; default none */
    struct weft_memory *memory; /**< cache every item of a map (see Memory) */
    int shared_threshold;       /**< bytes: a call's inputs (or outputs) larger than this go
                                  to a shared-memory region of their own instead of the
                                  pool's reusable scratch region (process backends);
                                  default 1 MiB; WEFT_NONE: always their own */
} weft_options;

/** Every field 0: the same as `weft_options o = {0};`. */
WEFT_API void weft_options_init(weft_options *o);

/** A set of workers of one backend, reused across calls (opaque). */
typedef struct weft_pool weft_pool;
/** Open a pool; `options` may be NULL. Fields left 0 are resolved now from the scope and
 * the environment, so the pool keeps its configuration. Reuse it across calls. */
WEFT_API int weft_pool_open(weft_pool **out, const weft_options *options);
/** Stop the workers and free the pool; NULL is fine. No call may be running on it. */
WEFT_API void weft_pool_close(weft_pool *pool);
/** The pool's backend name, as resolved when it was opened. */
WEFT_API const char *weft_pool_backend(const weft_pool *pool);
/** The pool's worker count, as resolved when it was opened. */
WEFT_API int weft_pool_n_jobs(const weft_pool *pool);

/** Scoped configuration for this thread: push options (fields left 0 inherit from the
 * outer scope), pop to restore. Explicit pool options win over scopes; scopes win over
 * the environment (WEFT_BACKEND, WEFT_N_JOBS, WEFT_VERBOSE). Calls with a NULL pool use a
 * shared default pool matching the innermost scope. */
WEFT_API int weft_config_push(const weft_options *o);
/** Restore the scope before the last weft_config_push on this thread; WEFT_ECONFIG when
 * there is none. */
WEFT_API int weft_config_pop(void);
/** The options in force on this thread right now, all fields resolved (to their values:
 * a resolved 0 is automatic, silent or none). */
WEFT_API int weft_config_current(weft_options *out);

/** CPUs this process may use, its CPU budget: affinity mask and cgroup v1/v2 CPU quota
 * honoured; under Emscripten the host's reported concurrency; WEFT_CPU_BUDGET=N when set
 * (weft sets it in worker processes to their share: budget / n_jobs, at least 1). Nested
 * pools share this budget (docs/nested.md). Always >= 1. */
WEFT_API int weft_cpu_count(void);
/** Turn a joblib-style n_jobs into a worker count: N > 0 -> N, negative -> CPUs + 1 + N
 * but at least 1 (-1 all CPUs, -2 all but one). 0 gives WEFT_EINVAL (in options, 0
 * inherits). */
WEFT_API int weft_resolve_n_jobs(int n_jobs);

/** Stop and free the default pools (also done at exit). */
WEFT_API void weft_shutdown(void);

/* ---------------------------------------------------------------- parallel calls */

/** Run `task` on n inputs of in_size bytes each (inputs[i * in_size]) and store each
 * output, out_size bytes, at outputs[i * out_size]: results in input order. out_size 0
 * and outputs NULL for tasks that produce nothing. A failing task stops the map: tasks
 * not yet started are skipped and the call returns WEFT_ETASK (see weft_last_error). */
WEFT_API int weft_map(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
                      size_t n, void *outputs, size_t out_size);

/** Variable-size items: an owned or borrowed byte buffer. */
typedef struct weft_bytes {
    void *data;  /**< the bytes (NULL when size is 0) */
    size_t size; /**< their count */
} weft_bytes;
/** Like weft_map with variable-size inputs and outputs. Each outputs[i] receives a buffer
 * allocated by weft (free it with weft_bytes_free); on failure every output is freed. */
WEFT_API int weft_map_bytes(weft_pool *pool, const weft_task_def *task, const weft_bytes *inputs,
                            size_t n, weft_bytes *outputs);
/** Free the data of n buffers that weft allocated and zero them; NULL is fine. */
WEFT_API void weft_bytes_free(weft_bytes *b, size_t n);

/** The body of weft_for: 0 to go on, non-zero to stop the loop. */
typedef int (*weft_for_fn)(size_t i, void *ctx);
/** Call body(i, ctx) for every i in [begin, end), like an OpenMP parallel for. The body
 * returns 0, or non-zero to stop the loop (the call then returns WEFT_ETASK). Runs in
 * this process's memory: only backends with shared memory accept it (others:
 * WEFT_ENOSYS). */
WEFT_API int weft_for(weft_pool *pool, size_t begin, size_t end, weft_for_fn body, void *ctx);

/** How one task of weft_map_collect went. */
typedef struct weft_status {
    int code;      /**< WEFT_OK, WEFT_ETASK, WEFT_EOUTSIZE, WEFT_ETIMEDOUT, WEFT_ECANCELED */
    int status;    /**< what the task returned */
    char *message; /**< NULL on success */
} weft_status;
/** Collect-all: run every task whatever fails, and say per task how it went in
 * statuses[i]. Returns 0 when all succeeded, WEFT_ETASK when some failed (outputs of
 * failed tasks are left untouched). Messages are owned by weft: free them with
 * weft_status_free. */
WEFT_API int weft_map_collect(weft_pool *pool, const weft_task_def *task, const void *inputs,
                              size_t in_size, size_t n, void *outputs, size_t out_size,
                              weft_status *statuses);
/** Free the messages of n statuses (the array itself is the caller's). */
WEFT_API void weft_status_free(weft_status *s, size_t n);

/* ---------------------------------------------------------------- streaming */

/** Lazy input, like joblib's iterables: `next` fills *input (borrowed: weft copies it) and
 * returns 1, or returns 0 at the end, or a negative code to stop with that error. It is
 * only ever called from the thread that calls weft_next. */
typedef struct weft_source {
    int (*next)(void *user, weft_bytes *input); /**< 1 and *input filled, 0 at the end, or < 0 */
    void *user;                                 /**< passed to next */
} weft_source;

/** How an iterator streams. */
typedef struct weft_iter_options {
    int ordered;   /**< 1: results in input order; 0: in the order tasks finish */
    size_t window; /**< most tasks in flight or waiting to be read; 0: automatic */
    int collect;   /**< 1: failed tasks come back as results; 0: the first failure ends it */
} weft_iter_options;

/** One result of an iterator (weft_next). */
typedef struct weft_result {
    size_t index;        /**< position of the input */
    int code;            /**< WEFT_OK, or the task's failure (collect mode) */
    const void *data;    /**< the output; valid until the next weft_next or weft_iter_close */
    size_t size;         /**< the output's size in bytes */
    const char *message; /**< failure message, or NULL */
} weft_result;

/** A running stream of results (opaque); weft_iter_close frees it. */
typedef struct weft_iter weft_iter;
/** Start streaming `task` over a source. At most `window` tasks are in flight or waiting
 * to be read, so memory stays flat and a slow reader holds the workers back. `options`
 * may be NULL (ordered, automatic). The new iterator goes to *out. */
WEFT_API int weft_imap(weft_iter **out, weft_pool *pool, const weft_task_def *task, const weft_source *source,
                       const weft_iter_options *options);
/** Like weft_imap over an array of n inputs of in_size bytes each. */
WEFT_API int weft_imap_array(weft_iter **out, weft_pool *pool, const weft_task_def *task, const void *inputs,
                             size_t in_size, size_t n, const weft_iter_options *options);
/** 1 and *r filled; 0 at the end; or a negative WEFT_E* code (fail-fast failure,
 * cancellation, timeout, source error) with weft_last_error() set. */
WEFT_API int weft_next(weft_iter *it, weft_result *r);
/** Cancel what has not started, wait for what is running, free everything. NULL is fine. */
WEFT_API void weft_iter_close(weft_iter *it);

/* ---------------------------------------------------------------- reduce */

/** Fold task outputs as they come instead of keeping them. In the default mode each
 * worker folds into its own accumulator and the accumulators are combined at the end,
 * so no more than one accumulator per worker exists. With `deterministic` set, the
 * inputs are cut into fixed chunks folded in index order and combined in a fixed tree:
 * the result is bit-identical for any n_jobs and any backend. On backends whose tasks run
 * in other processes, fold runs there (the program's own function) and init/combine run
 * in the caller; `user` must then be NULL or lie in a weft_shared region (WEFT_EINVAL). */
typedef struct weft_reducer {
    size_t acc_size;                                                      /**< bytes of one accumulator */
    void (*init)(void *acc, void *user);                                  /**< the identity */
    void (*fold)(void *acc, const void *output, size_t size, void *user); /**< acc (+)= output */
    void (*combine)(void *acc, const void *other, void *user);            /**< acc = acc (+) other */
    void *user;                                                           /**< passed to init, fold, combine */
    int deterministic;                                                    /**< 1: the same bits for any n_jobs and backend */
} weft_reducer;
/** Ready-made reducers for tasks whose output is one int64_t or one double (out_size 8;
 * the result is 8 bytes): the sum (of int64: wrapping, as unsigned arithmetic does), the
 * minimum and the maximum (NaN outputs are passed over). weft_reduce folds them in its own
 * loop, without a call per item. Pass one's address, or copy it to set `deterministic`.
 * Over no items the result is the identity: 0, INT64_MAX, INT64_MIN, 0.0, +inf, -inf. */
WEFT_API extern const weft_reducer weft_sum_i64;
WEFT_API extern const weft_reducer weft_min_i64; /**< the least int64_t output (see weft_sum_i64) */
WEFT_API extern const weft_reducer weft_max_i64; /**< the greatest int64_t output (see weft_sum_i64) */
WEFT_API extern const weft_reducer weft_sum_f64; /**< the sum of double outputs (see weft_sum_i64) */
WEFT_API extern const weft_reducer weft_min_f64; /**< the least double output, NaN passed over (see weft_sum_i64) */
WEFT_API extern const weft_reducer weft_max_f64; /**< the greatest double output, NaN passed over (see weft_sum_i64) */
/** Run `task` on n inputs and fold every output with `reducer` (see weft_reducer).
 * `out_size`: the size of each task's output. `result` receives acc_size bytes. */
WEFT_API int weft_reduce(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
                         size_t n, size_t out_size, const weft_reducer *reducer, void *result);

/* ---------------------------------------------------------------- shared regions */

/** A shared region: memory that every local worker sees at once, without copies (threads:
 * plain memory; processes: one memfd mapped by each worker on first use). Its handle is
 * plain data: put it in task inputs, and a task turns it back into a pointer with
 * weft_shared_ptr, in whatever process it runs. Regions start zeroed and are aligned to
 * WEFT_SHARED_ALIGN bytes (in practice to a page). Writes made by tasks are seen by the
 * caller once the call returns: tasks may write results in place, each into its own part.
 * Inputs and outputs of weft_map that already lie inside a region are never copied. */
#define WEFT_SHARED_ALIGN 64
/** A shared region's handle: plain data, valid in every local worker (see above). */
typedef struct weft_shared {
    uint64_t id; /**< 0: no region */
} weft_shared;
/** Allocate `size` (> 0) bytes. 0, or WEFT_EINVAL / WEFT_ENOMEM / WEFT_ESYS. */
WEFT_API int weft_shared_alloc(weft_shared *out, size_t size);
/** The region's first byte in this process, or NULL for a handle that is unknown here or
 * freed. Inside a worker process the first call maps the region. */
WEFT_API void *weft_shared_ptr(weft_shared region);
/** Its size in bytes; 0 when unknown. */
WEFT_API size_t weft_shared_size(weft_shared region);
/** Free a region; a zero or unknown handle is ignored. No call may be using it. */
WEFT_API void weft_shared_free(weft_shared region);

/* ---------------------------------------------------------------- trace */

/** Record what runs where into `path`, a Chrome trace-event JSON file that Perfetto UI
 * (ui.perfetto.dev) and chrome://tracing open (docs/tracing.md): a track per thread and
 * per worker process, a slice per call, per batch (args: its index range) and per task
 * when a batch has at most 8 items; nested calls nest in their task and an arrow (flow
 * event) leads from the task to each batch of its nested call; cache lookups and stores,
 * retries, failed tasks and worker crashes as instant events; counters of queued and
 * finished items. The file appears when the trace stops (weft_trace_stop, or at exit
 * for WEFT_TRACE=path). One trace at a time per process: WEFT_EINVAL while one records,
 * WEFT_ESYS when the file cannot be created (the message names it). */
WEFT_API int weft_trace_start(const char *path);
/** Stop recording, merge the worker processes' parts and write the file. 0, WEFT_EINVAL
 * when no trace records, WEFT_ESYS when the file could not be written. */
WEFT_API int weft_trace_stop(void);

/* ---------------------------------------------------------------- backends */

/** Capability bits a backend reports. */
enum {
    WEFT_CAP_SHARED_MEMORY = 1u << 0, /**< tasks share the caller's address space */
    WEFT_CAP_PARALLEL = 1u << 1,      /**< runs tasks at the same time */
    WEFT_CAP_NESTED = 1u << 2,        /**< a task may call weft_map on the same pool */
    WEFT_CAP_ISOLATED = 1u << 3,      /**< tasks run in other processes: a crashing task
                                         fails (WEFT_ECRASHED) instead of killing the caller */
};
/** Number of registered backends. */
WEFT_API size_t weft_backend_count(void);
/** Name of the i-th registered backend; NULL past the end. */
WEFT_API const char *weft_backend_name(size_t i);
/** The WEFT_CAP_* bits of a backend; 0 when unknown. */
WEFT_API unsigned weft_backend_caps(const char *name);

#ifdef __cplusplus
}
#endif

/* Memory, the cache: its own header, part of the public API. */
#include "weft_memory.h"
#endif
