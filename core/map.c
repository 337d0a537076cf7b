/* The parallel calls: check the arguments, describe the job, hand it to the backend. */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int weft__check_task(const char *call, const weft_task_def *task) {
    if (!task || !task->fn)
        return weft__set_error(WEFT_EINVAL, "%s: task is NULL (register it with WEFT_TASK and pass WEFT_FN(name) or weft_task_find(\"name\"))", call);
    return 0;
}

/* Run a described job on a pool (NULL: the default one for this thread's settings). */
static int run_job(weft_pool *pool, weft__job *job) {
    weft_options call;
    int rc = weft__pool_for_call(&pool, &call);
    return rc ? rc : weft__job_execute(job, pool, &call);
}

int weft__check_map_args(const char *call, const weft_task_def *task, const void *inputs,
                         size_t in_size, size_t n, const void *outputs, size_t out_size) {
    int rc = weft__check_task(call, task);
    if (rc) return rc;
    if (n > 0 && in_size > 0 && !inputs)
        return weft__set_error(WEFT_EINVAL, "%s: inputs is NULL but in_size is %zu", call, in_size);
    if (n > 0 && out_size > 0 && !outputs)
        return weft__set_error(WEFT_EINVAL, "%s: outputs is NULL but out_size is %zu", call, out_size);
    if (outputs && out_size == 0)
        return weft__set_error(WEFT_EINVAL, "%s: outputs given with out_size 0 (pass NULL for tasks without output)", call);
    if ((in_size && n > SIZE_MAX / in_size) || (out_size && n > SIZE_MAX / out_size))
        return weft__set_error(WEFT_EINVAL, "%s: n * item size overflows", call);
    return 0;
}

int weft__map_at(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
                 size_t n, void *outputs, size_t out_size, size_t index_base) {
    int rc = weft__check_map_args("weft_map", task, inputs, in_size, n, outputs, out_size);
    if (rc) return rc;
    weft__job job = {.call = {.kind = WEFT__JOB_MAP, .n = n, .task = task, .inputs = inputs, .in_size = in_size, .outputs = outputs, .out_size = out_size, .begin = index_base}};
    return run_job(pool, &job);
}

int weft_map(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
             size_t n, void *outputs, size_t out_size) {
    return weft__map_at(pool, task, inputs, in_size, n, outputs, out_size, 0);
}

int weft_map_bytes(weft_pool *pool, const weft_task_def *task, const weft_bytes *inputs,
                   size_t n, weft_bytes *outputs) {
    int rc = weft__check_task("weft_map_bytes", task);
    if (rc) return rc;
    if (n > 0 && (!inputs || !outputs))
        return weft__set_error(WEFT_EINVAL, "weft_map_bytes: inputs and outputs must not be NULL");
    for (size_t i = 0; i < n; i++)
        if (inputs[i].size > 0 && !inputs[i].data)
            return weft__set_error(WEFT_EINVAL, "weft_map_bytes: inputs[%zu] has size %zu but no data", i, inputs[i].size);
    memset(outputs, 0, n * sizeof *outputs);
    weft__job job = {.call = {.kind = WEFT__JOB_BYTES, .n = n, .task = task, .in_bytes = inputs, .out_bytes = outputs}};
    rc = run_job(pool, &job);
    if (rc) weft_bytes_free(outputs, n); /* all or nothing: no half-filled result */
    return rc;
}

int weft_for(weft_pool *pool, size_t begin, size_t end, weft_for_fn body, void *ctx) {
    if (!body) return weft__set_error(WEFT_EINVAL, "weft_for: body is NULL");
    if (end < begin) return weft__set_error(WEFT_EINVAL, "weft_for: end (%zu) is before begin (%zu)", end, begin);
    weft__job job = {.call = {.kind = WEFT__JOB_FOR, .n = end - begin, .body = body, .ctx = ctx, .begin = begin}};
    return run_job(pool, &job);
}

int weft_map_collect(weft_pool *pool, const weft_task_def *task, const void *inputs,
                     size_t in_size, size_t n, void *outputs, size_t out_size,
                     weft_status *statuses) {
    if (n > 0 && !statuses) return weft__set_error(WEFT_EINVAL, "weft_map_collect: statuses is NULL");
    int rc = weft__check_map_args("weft_map_collect", task, inputs, in_size, n, outputs, out_size);
    if (rc) return rc;
    memset(statuses, 0, n * sizeof *statuses);
    weft__job job = {.call = {.kind = WEFT__JOB_MAP, .n = n, .task = task, .inputs = inputs, .in_size = in_size, .outputs = outputs, .out_size = out_size, .statuses = statuses}};
    rc = run_job(pool, &job);
    if (rc) return rc; /* the call itself failed: cancelled, timed out, bad options */
    size_t failed = 0, first = n;
    for (size_t i = 0; i < n; i++)
        if (statuses[i].code) failed++, first = first < n ? first : i;
    if (!failed) return 0;
    weft__failure f = {WEFT_ETASK, statuses[first].status, (int64_t)first, ""};
    snprintf(f.message, sizeof f.message, "%zu of %zu tasks failed; the first, task %zu: %s", failed, n,
             first, statuses[first].message ? statuses[first].message : "");
    return weft__set_task_error(&f, task->name);
}
