/* weft_reduce: fold task outputs into accumulators instead of keeping them. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Deterministic mode cuts the inputs into this many chunks (fewer for small n): a count
 * that depends on n alone, never on the number of workers. */
#define DETERMINISTIC_CHUNKS 1024

/* Combine accumulators [0, count) into the first in a fixed pairwise tree:
 * (0+1)+(2+3), then ((0+1)+(2+3))+((4+5)+(6+7)), ... */
static void combine_tree(const weft_reducer *r, unsigned char *accs, size_t stride, size_t count) {
    for (size_t step = 1; step < count; step *= 2)
        for (size_t i = 0; i + step < count; i += 2 * step)
            r->combine(accs + i * stride, accs + (i + step) * stride, r->user);
}

int weft_reduce(weft_pool *pool, const weft_task_def *task, const void *inputs, size_t in_size,
                size_t n, size_t out_size, const weft_reducer *r, void *result) {
    int rc = weft__check_map_args("weft_reduce", task, inputs, in_size, n, NULL, 0);
    if (rc) return rc;
    if (!r || !r->init || !r->fold || !r->combine || r->acc_size == 0)
        return weft__set_error(WEFT_EINVAL, "weft_reduce: the reducer needs acc_size, init, fold and combine");
    if (!result) return weft__set_error(WEFT_EINVAL, "weft_reduce: result is NULL");
    if (weft__reducer_op(r) != WEFT__FOLD_CALL && (out_size != 8 || r->acc_size != 8))
        return weft__set_error(WEFT_EINVAL, "weft_reduce: weft_sum_i64 and the other ready-made reducers take "
                                            "8-byte outputs and accumulators, not out_size %zu, acc_size %zu",
                               out_size, r->acc_size);
    weft_options call;
    rc = weft__pool_for_call(&pool, &call);
    if (rc) return rc;

    weft__job job = {.call = {.kind = WEFT__JOB_REDUCE, .task = task, .inputs = inputs, .in_size = in_size, .out_size = out_size, .reducer = r, .n_tasks = n}};
    job.call.chunked = r->deterministic != 0;
    size_t n_accs;
    if (job.call.chunked) {
        job.call.n = n < DETERMINISTIC_CHUNKS ? n : DETERMINISTIC_CHUNKS;
        n_accs = job.call.n ? job.call.n : 1;
    } else {
        job.call.n = n;
        n_accs = (size_t)weft_pool_n_jobs(pool);
    }
    job.call.acc_stride = (r->acc_size + 63) & ~(size_t)63; /* no false sharing between workers */
    job.call.accs = aligned_alloc(64, job.call.acc_stride * n_accs);
    if (!job.call.accs) return weft__set_error(WEFT_ENOMEM, "weft_reduce: out of memory for %zu accumulators", n_accs);
    for (size_t i = 0; i < n_accs; i++) r->init(job.call.accs + i * job.call.acc_stride, r->user);

    rc = weft__job_execute(&job, pool, &call);
    if (rc == 0) {
        if (job.call.chunked)
            combine_tree(r, job.call.accs, job.call.acc_stride, n_accs);
        else
            for (size_t i = 1; i < n_accs; i++) r->combine(job.call.accs, job.call.accs + i * job.call.acc_stride, r->user);
        memcpy(result, job.call.accs, r->acc_size);
    }
    free(job.call.accs);
    return rc;
}
