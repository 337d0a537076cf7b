/* weft — a parallel map for C programs, the same task code from a laptop to a web page.
 *
 * The one public header. Every call returns 0 on success or a negative WEFT_E* code;
 * weft_last_error() then tells the calling thread what failed, including the index and
 * message of a failing task.
 */
#ifndef WEFT_H
#define WEFT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEFT_VERSION_MAJOR 0
#define WEFT_VERSION_MINOR 1
#define WEFT_VERSION_PATCH 0
const char *weft_version(void);

/* ---------------------------------------------------------------- errors */

/* One table: the enum, the names and the messages all come from here. */
#define WEFT_ERROR_MAP(X)                                                              \
    X(EINVAL, -1, "invalid argument")                                                  \
    X(ENOMEM, -2, "out of memory")                                                     \
    X(ENOTASK, -3, "no task is registered under that name")                            \
    X(ENOBACKEND, -4, "no backend is registered under that name")                      \
    X(ETASK, -5, "a task failed")                                                      \
    X(ECANCELED, -6, "the call was cancelled")                                         \
    X(EOUTSIZE, -7, "a task wrote an output of the wrong size")                        \
    X(ENV, -8, "an environment variable has a value weft does not accept")             \
    X(ENOSYS, -9, "not supported on this platform")                                    \
    X(ESYS, -10, "a system call failed")                                               \
    X(ECONFIG, -11, "configuration stack misuse (pop without push)")                   \
    X(ETIMEDOUT, -12, "timed out")                                                     \
    X(ECRASHED, -13, "a worker process died while running a task")

typedef enum weft_error_code {
    WEFT_OK = 0,
#define WEFT__ENUM(name, code, msg) WEFT_##name = code,
    WEFT_ERROR_MAP(WEFT__ENUM)
#undef WEFT__ENUM
} weft_error_code;

/* "WEFT_EINVAL" etc.; unknown codes give "WEFT_UNKNOWN". Never NULL. */
const char *weft_error_name(int code);
/* A short sentence; unknown codes give "unknown error". Never NULL. */
const char *weft_strerror(int code);

/* What the last failing weft call on this thread reported. Thread-local, so concurrent
 * callers sharing one pool never overwrite each other's record. */
typedef struct weft_error {
    int code;           /* WEFT_OK when the last call succeeded */
    int task_status;    /* the non-zero value a failing task returned, or 0 */
    int64_t task_index; /* index of the failing task, or -1 */
    char task_name[64]; /* its registered name, or "" */
    char message[256];  /* the task's message, or weft's own explanation */
} weft_error;
const weft_error *weft_last_error(void);

/* ---------------------------------------------------------------- tasks */

typedef struct weft_task weft_task; /* a running task's context, valid during the call */
typedef int (*weft_task_fn)(weft_task *t);

typedef struct weft_task_def {
    const char *name;
    weft_task_fn fn;
    struct weft_task_def *next; /* registry link, owned by weft */
} weft_task_def;

/* Register a task. The definition must outlive the program (the macro uses a static).
 * Registering a second task under a name already taken fails with WEFT_EINVAL. */
int weft_task_register(weft_task_def *def);
/* NULL when no task has that name. */
const weft_task_def *weft_task_find(const char *name);
/* Number of registered tasks, and the i-th in name order (NULL past the end). */
size_t weft_task_count(void);
const weft_task_def *weft_task_at(size_t i);

/* WEFT_TASK(fn) registers `fn` under the name "fn" before main() runs.
 * WEFT_FN(fn) is its definition, for weft_map & co. in the same file;
 * other files use WEFT_TASK_DECLARE(fn) first, or weft_task_find("fn"). */
#define WEFT_TASK(fn)                                                                  \
    weft_task_def weft__task_##fn = {#fn, fn, NULL};                                   \
    __attribute__((constructor)) static void weft__register_##fn(void) {               \
        weft_task_register(&weft__task_##fn);                                          \
    }
#define WEFT_TASK_DECLARE(fn) extern weft_task_def weft__task_##fn
#define WEFT_FN(fn) (&weft__task_##fn)

/* Inside a task. The input is borrowed: valid until the task returns. */
const void *weft_input(const weft_task *t);
size_t weft_input_size(const weft_task *t);
/* Copy the task's output out. For fixed-size maps `size` must equal the map's output
 * size (else WEFT_EOUTSIZE); for variable-size maps any size, also 0. Call once. */
int weft_output(weft_task *t, const void *data, size_t size);
/* Index of this item in the map (0-based), the worker running it (0 = the calling
 * thread), the nesting level (0 = a map called outside any task). */
size_t weft_task_index(const weft_task *t);
int weft_worker_id(const weft_task *t);
int weft_nesting_level(const weft_task *t);
/* Non-zero once the map is being stopped (another task failed, the progress callback
 * asked to cancel): a long task may poll this and return early. */
int weft_cancelled(const weft_task *t);
/* Attach a message (printf-style) to a failing task; returns WEFT_ETASK, so a task can
 * `return weft_fail(t, "bad input %d", x);`. */
int weft_fail(weft_task *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---------------------------------------------------------------- options, pools */

typedef struct weft_progress {
    size_t done, total;
    double elapsed_s;
    double remaining_s; /* estimate; negative while unknown */
} weft_progress;
/* Return non-zero to cancel the call (it then returns WEFT_ECANCELED). */
typedef int (*weft_progress_fn)(const weft_progress *p, void *user);

#define WEFT_UNSET (-0x7fffffff)

typedef struct weft_options {
    const char *backend;       /* "sequential", "threads", ...; NULL: scope/env/default */
    int n_jobs;                /* -1 all CPUs, -2 all but one, N > 0; 0 is an error;
                                  WEFT_UNSET: scope/env/default */
    int batch_size;            /* items per batch; 0 = automatic; WEFT_UNSET inherits */
    int verbose;               /* 0 silent, 1 progress on stderr; WEFT_UNSET inherits */
    weft_progress_fn progress; /* NULL inherits */
    void *progress_user;
    int task_timeout_ms;       /* a task running longer fails with WEFT_ETIMEDOUT and its
                                  worker process is killed and replaced (backends with
                                  WEFT_CAP_ISOLATED; others ignore it); 0 none; WEFT_UNSET
                                  inherits (default 0) */
    int shared_threshold;      /* bytes: a call's inputs (or outputs) larger than this go
                                  to a shared-memory region of their own instead of the
                                  pool's reusable scratch region (process backends); 0 =
                                  always; WEFT_UNSET inherits (default 1 MiB) */
} weft_options;

/* All fields unset: every one inherits from the scope, the environment, the defaults. */
#define WEFT_OPTIONS_INIT {NULL, WEFT_UNSET, WEFT_UNSET, WEFT_UNSET, NULL, NULL, WEFT_UNSET, WEFT_UNSET}
void weft_options_init(weft_options *o);

typedef struct weft_pool weft_pool;
/* Open a pool; `options` may be NULL. Unset fields are resolved now from the scope and
 * the environment, so the pool keeps its configuration. Reuse it across calls. */
int weft_open(weft_pool **out, const weft_options *options);
/* Stop the workers and free the pool; NULL is fine. No call may be running on it. */
void weft_close(weft_pool *pool);
/* The pool's resolved settings. */
const char *weft_pool_backend(const weft_pool *pool);
int weft_pool_n_jobs(const weft_pool *pool);

/* Scoped configuration for this thread: push options (unset fields inherit from the
 * outer scope), pop to restore. Explicit pool options win over scopes; scopes win over
 * the environment (WEFT_BACKEND, WEFT_N_JOBS, WEFT_VERBOSE). Calls with a NULL pool use a
 * shared default pool matching the innermost scope. */
int weft_config_push(const weft_options *o);
int weft_config_pop(void);
/* The options in force on this thread right now, all fields resolved. */
int weft_config_current(weft_options *out);

/* CPUs this process may use: affinity mask and cgroup v1/v2 CPU quota honoured;
 * under Emscripten the host's reported concurrency. Always >= 1. */
int weft_cpu_count(void);
/* Turn a joblib-style n_jobs into a worker count: N > 0 -> N, negative -> CPUs + 1 + N
 * but at least 1 (-1 all CPUs, -2 all but one). 0 (or WEFT_UNSET) gives WEFT_EINVAL. */
int weft_resolve_n_jobs(int n_jobs);

/* Stop and free the default pools (also done at exit). */
void weft_shutdown(void);

/* ---------------------------------------------------------------- parallel calls */

/* Run `task` on n inputs of in_size bytes each (inputs[i * in_size]) and store each
 * output, out_size bytes, at outputs[i * out_size]: results in input order. out_size 0
 * and outputs NULL for tasks that produce nothing. A failing task stops the map: tasks
 * not yet started are skipped and the call returns WEFT_ETASK (see weft_last_error). */
int weft_map(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
             size_t n, void *outputs, size_t out_size);

/* Variable-size items: an owned or borrowed byte buffer. */
typedef struct weft_bytes {
    void *data;
    size_t size;
} weft_bytes;
/* Like weft_map with variable-size inputs and outputs. Each outputs[i] receives a buffer
 * allocated by weft (free it with weft_bytes_free); on failure every output is freed. */
int weft_map_bytes(weft_pool *pool, const weft_task_def *task, const weft_bytes *inputs,
                   size_t n, weft_bytes *outputs);
void weft_bytes_free(weft_bytes *b, size_t n);

/* Call body(i, ctx) for every i in [begin, end), like an OpenMP parallel for. The body
 * returns 0, or non-zero to stop the loop (the call then returns WEFT_ETASK). Runs in
 * this process's memory: only backends with shared memory accept it. */
typedef int (*weft_for_fn)(size_t i, void *ctx);
int weft_for(weft_pool *pool, size_t begin, size_t end, weft_for_fn body, void *ctx);

/* ---------------------------------------------------------------- shared regions */

/* A shared region: memory that every local worker sees at once, without copies (threads:
 * plain memory; processes: one memfd mapped by each worker on first use). Its handle is
 * plain data: put it in task inputs, and a task turns it back into a pointer with
 * weft_shared_ptr, in whatever process it runs. Regions start zeroed and are aligned to
 * WEFT_SHARED_ALIGN bytes (in practice to a page). Writes made by tasks are seen by the
 * caller once the call returns: tasks may write results in place, each into its own part.
 * Inputs and outputs of weft_map that already lie inside a region are never copied. */
#define WEFT_SHARED_ALIGN 64
typedef struct weft_shared {
    uint64_t id; /* 0: no region */
} weft_shared;
/* Allocate `size` (> 0) bytes. 0, or WEFT_EINVAL / WEFT_ENOMEM / WEFT_ESYS. */
int weft_shared_alloc(weft_shared *out, size_t size);
/* The region's first byte in this process, or NULL for a handle that is unknown here or
 * freed. Inside a worker process the first call maps the region. */
void *weft_shared_ptr(weft_shared region);
/* Its size in bytes; 0 when unknown. */
size_t weft_shared_size(weft_shared region);
/* Free a region; a zero or unknown handle is ignored. No call may be using it. */
void weft_shared_free(weft_shared region);

/* ---------------------------------------------------------------- backends */

/* Capability bits a backend reports. */
enum {
    WEFT_CAP_SHARED_MEMORY = 1u << 0, /* tasks share the caller's address space */
    WEFT_CAP_PARALLEL = 1u << 1,      /* runs tasks at the same time */
    WEFT_CAP_NESTED = 1u << 2,        /* a task may call weft_map on the same pool */
    WEFT_CAP_ISOLATED = 1u << 3,      /* tasks run in other processes: a crashing task
                                         fails (WEFT_ECRASHED) instead of killing the caller */
};
size_t weft_backend_count(void);
/* Name and capabilities of the i-th registered backend; NULL name past the end. */
const char *weft_backend_name(size_t i);
unsigned weft_backend_caps(const char *name); /* 0 when unknown */

#ifdef __cplusplus
}
#endif
#endif
