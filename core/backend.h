/* The backend interface: a versioned vtable and its registry.
 *
 * A backend runs a job's items [0, n) by calling weft__job_run(job, begin, end, worker)
 * on ranges of its choosing, from any of its threads. The core owns everything else:
 * task contexts, outputs, failures, progress. Methods are only ever appended; a backend
 * built for an older version keeps working. */
#ifndef WEFT_BACKEND_H
#define WEFT_BACKEND_H

#include "weft.h"

#define WEFT_BACKEND_VERSION 1

typedef struct weft__job weft__job;

typedef struct weft_backend {
    int version;       /* WEFT_BACKEND_VERSION the backend was written for */
    const char *name;  /* "threads" */
    unsigned caps;     /* WEFT_CAP_* bits */
    size_t state_size; /* bytes of private state weft allocates (zeroed) per pool */
    /* Start `n_workers` workers; 0 or a WEFT_E* code. */
    int (*start)(void *state, int n_workers);
    /* Run every item of `job` (or skip them once job->stop is set) and return when none
     * is running any more. The calling thread may help. 0 or a WEFT_E* code. */
    int (*run)(void *state, weft__job *job);
    /* Stop and join the workers; no job is running. */
    void (*stop)(void *state);
    /* Optional, all three or none: the asynchronous form iterators use. submit starts
     * the job and returns; help runs one batch of it on the calling thread (1) or finds
     * none left to claim (0); finish returns once no item is running, like run. */
    int (*submit)(void *state, weft__job *job);
    int (*help)(void *state, weft__job *job);
    int (*finish)(void *state, weft__job *job);
} weft_backend;

/* Register a backend (a copy of the pointer is kept: the vtable must outlive its use).
 * WEFT_EINVAL for a NULL or unnamed vtable, a version newer than this weft, or a name
 * already taken. */
int weft_backend_register(const weft_backend *b);
const weft_backend *weft_backend_find(const char *name);

/* For backends: run items [begin, end) of the job on worker `worker` (0 = the calling
 * thread). Returns how many items it went through (run or skipped after a stop). */
size_t weft__job_run(weft__job *job, size_t begin, size_t end, int worker);
/* Non-zero once the job is stopping: backends may stop handing out items. */
int weft__job_stopping(const weft__job *job);
/* Progress: when weft__job_progress_due() says so, the backend's calling thread counts
 * the items done and reports them (which may cancel the job). */
int weft__job_progress_due(const weft__job *job);
void weft__job_progress(weft__job *job, size_t done);
/* For backends that run a job inline: run the next batch from job->cursor (batches grow
 * to about a millisecond) and report progress; returns how many items it went through,
 * 0 once none is left. */
size_t weft__job_run_next(weft__job *job, int worker);

/* For backends that run tasks in another address space (worker processes): item `index`
 * finished there. With `code` 0, `out` (`size` bytes) is its output, copied into the
 * job's outputs (fixed-size maps check the size; BYTES maps get a fresh buffer). Otherwise
 * `code` is why it failed (WEFT_ETASK, WEFT_EOUTSIZE, WEFT_ECRASHED, WEFT_ETIMEDOUT, ...),
 * `status` what the task returned (0 when it never returned) and `message` the task's
 * message or the backend's explanation: the first failure is the job's, and the job
 * stops. Callable from one thread at a time per job. */
void weft__job_finish_remote(weft__job *job, size_t index, int code, int status, const void *out,
                             size_t size, const char *message);
/* Items [begin, begin + n) of a WEFT__JOB_MAP job, finished elsewhere: outputs `outs` (n
 * of out_size bytes), ok[k] non-zero where item begin + k succeeded (the others are
 * reported through weft__job_finish_remote). One copy for the run when nothing watches
 * items one by one: what a batch of tiny tasks costs the caller is this loop. */
void weft__job_finish_remote_run(weft__job *job, size_t begin, size_t n, const unsigned char *ok, const void *outs);
/* Number of items and the fixed batch size (0: choose). */
size_t weft__job_size(const weft__job *job);
int weft__job_batch_size(const weft__job *job);
/* Where automatic batches start (1, or where an earlier job of an iterator grew to), and
 * the size they grew to, kept for the next such job. */
size_t weft__job_batch_start(const weft__job *job);
void weft__job_batch_grew(weft__job *job, size_t size);

extern const weft_backend weft__backend_sequential;
extern const weft_backend weft__backend_threads;
/* Backends that need the host's operating system (native/): a NULL-terminated list,
 * empty on hosts without processes. */
const weft_backend *const *weft__native_backends(void);
#endif
