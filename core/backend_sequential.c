/* The reference backend: every item in order on the calling thread. Every other
 * backend must give the same results. */
#include "internal.h"

static int sequential_submit(void *state, weft__job *job) {
    (void)state, (void)job;
    return 0; /* nothing runs until someone helps or finishes */
}

static int sequential_help(void *state, weft__job *job) {
    (void)state;
    return weft__job_run_next(job, 0) > 0;
}

static int sequential_finish(void *state, weft__job *job) {
    (void)state;
    while (weft__job_run_next(job, 0)) {
    }
    return 0;
}

const weft_backend weft__backend_sequential = {
    .version = WEFT_BACKEND_VERSION,
    .name = "sequential",
    .caps = WEFT_CAP_SHARED_MEMORY | WEFT_CAP_NESTED,
    .state_size = 0,
    .start = NULL,
    .run = sequential_finish,
    .stop = NULL,
    .submit = sequential_submit,
    .help = sequential_help,
    .finish = sequential_finish,
};
