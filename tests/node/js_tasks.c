/* Tasks only the JavaScript API tests use (tests/node/api.test.mjs and friends). */
#define _POSIX_C_SOURCE 200809L /* nanosleep, natively */
#include "weft.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* no input -> double: the item's index in the whole map (also on a worker's batch) */
static int index_of(weft_task *t) {
    double i = (double)weft_task_index(t);
    return weft_output(t, &i, sizeof i);
}
WEFT_TASK(index_of)

/* double ms -> double ms: keeps the CPU busy that long (a slow task for cancellation) */
static int spin_ms(weft_task *t) {
    double ms;
    memcpy(&ms, weft_input(t), sizeof ms);
    clock_t end = clock() + (clock_t)(ms * (CLOCKS_PER_SEC / 1000.0));
    while (clock() < end && !weft_cancelled(t)) {
    }
    return weft_output(t, &ms, sizeof ms);
}
WEFT_TASK(spin_ms)

/* int32 -> int32: a copy, or a trap (wasm `unreachable`) on a negative input: a crashing
 * task for the JS API's WEFT_ECRASHED path (the instance is replaced). Never called natively. */
static int trap_if_negative(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x < 0) __builtin_trap();
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(trap_if_negative)

/* int32 -> int32: a copy, or abort() on a negative input (Emscripten's abort path, which
 * prints "Aborted()" by itself). Never called natively. */
static int abort_if_negative(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x < 0) abort();
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(abort_if_negative)

/* ---- nested maps inside a worker (tests/node/nested.test.mjs) */

#ifdef __EMSCRIPTEN__
#include <emscripten.h>
/* a sleep that leaves the CPU to others (Atomics.wait, where a worker may block on shared
 * memory: Node, cross-origin isolated pages), else a busy wait */
EM_JS(void, js_sleep_ms, (double ms), {
    if (typeof SharedArrayBuffer === 'function') return void Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    for (var end = performance.now() + ms; performance.now() < end;) {
    }
});
/* which JS thread runs this: Node's threadId (0: the main thread); in a page, a number
 * drawn once per worker (0: the page's thread) */
EM_JS(double, js_thread_id, (void), {
    if (typeof require === 'function') return require('worker_threads').threadId;
    if (typeof WorkerGlobalScope === 'undefined') return 0;
    return self.weftTestThreadId = self.weftTestThreadId || 1 + Math.floor(Math.random() * 1e9);
});
#else
static void js_sleep_ms(double ms) {
    struct timespec d = {(time_t)(ms / 1000), (long)((ms - 1000 * (double)(time_t)(ms / 1000)) * 1e6)};
    nanosleep(&d, NULL);
}
static double js_thread_id(void) { return 0; }
#endif

/* double[2] {x, ms} -> double[2] {x * x, the JS thread that ran it}: sleeps ms first; x -2
 * traps (the instance is lost), another negative x fails */
static int nest_inner(weft_task *t) {
    double in[2];
    memcpy(in, weft_input(t), sizeof in);
    js_sleep_ms(in[1]);
    if (in[0] == -2) __builtin_trap();
    if (in[0] < 0) return weft_fail(t, "nest_inner: negative input %g at item %zu", in[0], weft_task_index(t));
    double out[2] = {in[0] * in[0], js_thread_id()};
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(nest_inner)

#define NEST_MAX 32
/* double[5] {m, ms, fail_at, base, bad} -> double[3 + 2 * NEST_MAX]: maps nest_inner over m
 * items {base + j, ms} (item fail_at gets `bad`) on the default pool (a nested map), returns
 * {the map's rc, the failing index (-1), the JS thread that ran this, then each item's
 * output}. */
static int nest_outer(weft_task *t) {
    double in[5], out[3 + 2 * NEST_MAX] = {0}, items[2 * NEST_MAX];
    memcpy(in, weft_input(t), sizeof in);
    int m = (int)in[0];
    if (m < 0 || m > NEST_MAX) return weft_fail(t, "nest_outer: m must be 0..%d", NEST_MAX);
    for (int j = 0; j < m; j++) items[2 * j] = j == (int)in[2] ? in[4] : in[3] + j, items[2 * j + 1] = in[1];
    int rc = weft_map(NULL, WEFT_FN(nest_inner), items, 2 * sizeof(double), (size_t)m, out + 3, 2 * sizeof(double));
    out[0] = rc;
    out[1] = rc ? (double)weft_last_error()->task_index : -1;
    out[2] = js_thread_id();
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(nest_outer)

#define DEEP_MAX 8
/* double[3] {m, m2, ms} -> double[2] {rc, sum}: three levels: maps nest_outer over m items
 * {m2, ms, no failure, base 100 * j} (each maps nest_inner over m2 items), returns the map's
 * rc and the sum of every nest_inner square (tests/node/nested.test.mjs: the trace) */
static int nest_deep(weft_task *t) {
    double in[3], items[5 * DEEP_MAX], outs[DEEP_MAX * (3 + 2 * NEST_MAX)];
    memcpy(in, weft_input(t), sizeof in);
    int m = (int)in[0], m2 = (int)in[1];
    if (m < 0 || m > DEEP_MAX) return weft_fail(t, "nest_deep: m must be 0..%d", DEEP_MAX);
    for (int j = 0; j < m; j++) {
        double item[5] = {m2, in[2], -1, 100.0 * j, -1};
        memcpy(items + 5 * j, item, sizeof item);
    }
    const size_t out_size = (3 + 2 * NEST_MAX) * sizeof(double);
    int rc = weft_map(NULL, WEFT_FN(nest_outer), items, 5 * sizeof(double), (size_t)m, outs, out_size);
    double out[2] = {rc, 0};
    for (int j = 0; !rc && j < m; j++) {
        const double *r = outs + j * (3 + 2 * NEST_MAX);
        if (r[0] != 0) out[0] = r[0];
        for (int k = 0; k < m2; k++) out[1] += r[3 + 2 * k];
    }
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(nest_deep)
