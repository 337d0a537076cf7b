/* The parallel calls: check the arguments, describe the job, hand it to the backend. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static int check_task(const char *call, const weft_task_def *task) {
    if (!task || !task->fn)
        return weft__set_error(WEFT_EINVAL, "%s: task is NULL (register it with WEFT_TASK and pass WEFT_FN(name) or weft_task_find(\"name\"))", call);
    return 0;
}

/* Run a described job on a pool and turn its outcome into the call's result. */
static int run_job(weft_pool *pool, weft__job *job) {
    weft_options call;
    int rc = weft__pool_for_call(&pool, &call);
    if (rc) return rc;
    const weft_backend *b = weft__pool_backend(pool);
    if (job->kind == WEFT__JOB_FOR && !(b->caps & WEFT_CAP_SHARED_MEMORY))
        return weft__set_error(WEFT_ENOSYS, "weft_for needs shared memory; backend '%s' has none (use weft_map)", b->name);
    weft__job *outer = weft__current_job();
    job->level = outer ? outer->level + 1 : 0;
    job->pool = pool;
    job->options = call;
    job->batch_size = call.batch_size;
    atomic_init(&job->stop, 0);
    atomic_init(&job->failed, 0);
    /* nested maps report nothing: the outer map's progress already covers them */
    weft_options quiet = call;
    if (outer) quiet.verbose = 0, quiet.progress = NULL;
    weft__progress_begin(&job->progress, &quiet, job->n);
    rc = b->run(weft__pool_state(pool), job);
    weft__progress_end(&job->progress, job->n);
    if (rc) return weft__set_error(rc, "backend '%s' failed to run the job", b->name);
    if (atomic_load(&job->failed))
        return weft__set_task_error(&job->failure, job->task ? job->task->name : "");
    weft__clear_error();
    return 0;
}

int weft_map(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
             size_t n, void *outputs, size_t out_size) {
    int rc = check_task("weft_map", task);
    if (rc) return rc;
    if (n > 0 && in_size > 0 && !inputs)
        return weft__set_error(WEFT_EINVAL, "weft_map: inputs is NULL but in_size is %zu", in_size);
    if (n > 0 && out_size > 0 && !outputs)
        return weft__set_error(WEFT_EINVAL, "weft_map: outputs is NULL but out_size is %zu", out_size);
    if (outputs && out_size == 0)
        return weft__set_error(WEFT_EINVAL, "weft_map: outputs given with out_size 0 (pass NULL for tasks without output)");
    if ((in_size && n > SIZE_MAX / in_size) || (out_size && n > SIZE_MAX / out_size))
        return weft__set_error(WEFT_EINVAL, "weft_map: n * item size overflows");
    weft__job job = {.kind = WEFT__JOB_MAP, .n = n, .task = task, .inputs = inputs,
                     .in_size = in_size, .outputs = outputs, .out_size = out_size};
    return run_job(pool, &job);
}

void weft_bytes_free(weft_bytes *b, size_t n) {
    if (!b) return;
    for (size_t i = 0; i < n; i++) {
        free(b[i].data);
        b[i].data = NULL;
        b[i].size = 0;
    }
}

int weft_map_bytes(weft_pool *pool, const weft_task_def *task, const weft_bytes *inputs,
                   size_t n, weft_bytes *outputs) {
    int rc = check_task("weft_map_bytes", task);
    if (rc) return rc;
    if (n > 0 && (!inputs || !outputs))
        return weft__set_error(WEFT_EINVAL, "weft_map_bytes: inputs and outputs must not be NULL");
    for (size_t i = 0; i < n; i++)
        if (inputs[i].size > 0 && !inputs[i].data)
            return weft__set_error(WEFT_EINVAL, "weft_map_bytes: inputs[%zu] has size %zu but no data", i, inputs[i].size);
    memset(outputs, 0, n * sizeof *outputs);
    weft__job job = {.kind = WEFT__JOB_BYTES, .n = n, .task = task, .in_bytes = inputs,
                     .out_bytes = outputs};
    rc = run_job(pool, &job);
    if (rc) weft_bytes_free(outputs, n); /* all or nothing: no half-filled result */
    return rc;
}

int weft_for(weft_pool *pool, size_t begin, size_t end, weft_for_fn body, void *ctx) {
    if (!body) return weft__set_error(WEFT_EINVAL, "weft_for: body is NULL");
    if (end < begin) return weft__set_error(WEFT_EINVAL, "weft_for: end (%zu) is before begin (%zu)", end, begin);
    weft__job job = {.kind = WEFT__JOB_FOR, .n = end - begin, .body = body, .ctx = ctx,
                     .begin = begin};
    return run_job(pool, &job);
}
