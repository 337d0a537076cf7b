/* The trace (weft_trace_start/stop): a nested map three levels deep, a cached map and a
 * retried task, traced on one backend into a file that tests/c/check_trace.py then checks
 * (schema, one track per worker, nesting, flows). Also the API's refusals.
 *   test_trace BACKEND TRACE.json
 *   test_trace                  (threads, a scratch file, removed after)
 *   WEFT_TRACE=TRACE.json test_trace BACKEND -   (the same maps, traced from the environment) */
#define _POSIX_C_SOURCE 200809L
#include "check.h"
#include "test_tasks.h"
#include "weft.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void spin_us(long us) {
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    do clock_gettime(CLOCK_MONOTONIC, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

/* int32 -> int32: twice its input, after 3 ms: enough that the nested map is the trace's
 * longest call (its critical path) even when starting worker processes is slow, as
 * under TSan */
static int leaf(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    spin_us(3000);
    x *= 2;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(leaf)

/* int32 x -> int32: the sum of a nested map of `width` tasks one level down */
static int nest(weft_task *t, const weft_task_def *inner, int width) {
    int32_t x, in[8], out[8], sum = 0;
    memcpy(&x, weft_input(t), sizeof x);
    for (int i = 0; i < width; i++) in[i] = x + i;
    if (weft_map(NULL, inner, in, sizeof in[0], (size_t)width, out, sizeof out[0]) != 0)
        return weft_fail(t, "nested map: %s", weft_last_error()->message);
    for (int i = 0; i < width; i++) sum += out[i];
    return weft_output(t, &sum, sizeof sum);
}
static int middle(weft_task *t) { return nest(t, WEFT_FN(leaf), 3); }
WEFT_TASK(middle)
static int top(weft_task *t) { return nest(t, WEFT_FN(middle), 4); }
WEFT_TASK(top)

/* fails its first attempt at index 2 (the retry runs in the same process) */
static atomic_int flaky_tries;
static int flaky(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (weft_task_index(t) == 2 && atomic_fetch_add(&flaky_tries, 1) == 0) return weft_fail(t, "first try fails");
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(flaky)

int main(int argc, char **argv) {
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: test_trace [BACKEND TRACE.json]\n");
        return 2;
    }
    /* alone (ctest's test_trace): threads, into a scratch file; trace_test.sh checks files */
    char scratch[256];
    snprintf(scratch, sizeof scratch, "%s/weft_test_trace_%d.json", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    const char *backend = argc == 3 ? argv[1] : "threads", *path = argc == 3 ? argv[2] : scratch;
    if (skip_backend(backend, "a traced nested map")) return CHECK_DONE();

    int from_env = strcmp(path, "-") == 0;
    if (from_env) goto run;

    /* refusals, with messages */
    CHECK_EQ(weft_trace_stop(), WEFT_EINVAL);
    CHECK_EQ(weft_trace_start(NULL), WEFT_EINVAL);
    CHECK_EQ(weft_trace_start("/nonexistent-folder/t.json"), WEFT_ESYS);
    CHECK_HAS(weft_last_error()->message, "/nonexistent-folder/t.json");

    unlink(path);
    CHECK_EQ(weft_trace_start(path), 0);
    CHECK_EQ(weft_trace_start(path), WEFT_EINVAL);
    CHECK_HAS(weft_last_error()->message, "already recording");

run:;
    weft_options o = {.backend = backend, .n_jobs = 2};
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);

    int32_t in[6], out[6];
    for (int i = 0; i < 6; i++) in[i] = i * 10;
    CHECK_EQ(weft_map(pool, WEFT_FN(top), in, sizeof in[0], 6, out, sizeof out[0]), 0);
    for (int i = 0; i < 6; i++) {
        /* sum over j < 4, k < 3 of 2 (x + j + k) */
        int32_t want = 2 * (12 * in[i] + 3 * 6 + 4 * 3);
        CHECK_EQ(out[i], want);
    }

    weft_memory *m = NULL;
    CHECK_EQ(weft_memory_open(&m, "memory:", NULL), 0);
    weft_options cached = {.backend = backend, .n_jobs = 2, .memory = m};
    weft_pool *caching = NULL;
    CHECK_EQ(weft_pool_open(&caching, &cached), 0);
    int64_t sq_in[16], sq_out[16];
    for (int i = 0; i < 16; i++) sq_in[i] = i;
    CHECK_EQ(weft_map(caching, WEFT_FN(square), sq_in, sizeof sq_in[0], 16, sq_out, sizeof sq_out[0]), 0);
    CHECK_EQ(weft_map(caching, WEFT_FN(square), sq_in, sizeof sq_in[0], 16, sq_out, sizeof sq_out[0]), 0);
    weft_pool_close(caching);
    CHECK_EQ(sq_out[7], 49);

    weft_options retry = {.backend = backend, .n_jobs = 2, .retries = 1};
    weft_pool *retrying = NULL;
    CHECK_EQ(weft_pool_open(&retrying, &retry), 0);
    CHECK_EQ(weft_map(retrying, WEFT_FN(flaky), in, sizeof in[0], 6, out, sizeof out[0]), 0);
    weft_pool_close(retrying);
    CHECK_EQ(out[2], 20);

    if (from_env) {
        /* WEFT_TRACE started one at the first call: it is written at exit */
        CHECK_EQ(weft_trace_start("other.json"), WEFT_EINVAL);
        weft_pool_close(pool);
        weft_memory_close(m);
        return CHECK_DONE();
    }
    CHECK_EQ(weft_trace_stop(), 0);
    CHECK_EQ(weft_trace_stop(), WEFT_EINVAL);
    weft_pool_close(pool);
    weft_memory_close(m);
    CHECK(access(path, R_OK) == 0);
    if (argc == 1) unlink(path);
    return CHECK_DONE();
}
