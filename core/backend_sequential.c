/* The reference backend: every item in order on the calling thread. Every other
 * backend must give the same results. */
#include "internal.h"

/* Items between progress checks, so a check costs nothing measurable. */
#define CHUNK 256

static int sequential_run(void *state, weft__job *job) {
    (void)state;
    size_t n = weft__job_size(job);
    for (size_t i = 0; i < n && !weft__job_stopping(job); i += CHUNK) {
        size_t end = n - i < CHUNK ? n : i + CHUNK;
        weft__job_run(job, i, end, 0);
        weft__job_progress(job, end);
    }
    return 0;
}

const weft_backend weft__backend_sequential = {
    .version = WEFT_BACKEND_VERSION,
    .name = "sequential",
    .caps = WEFT_CAP_SHARED_MEMORY | WEFT_CAP_NESTED,
    .state_size = 0,
    .start = NULL,
    .run = sequential_run,
    .stop = NULL,
};
