/* Tasks only the JavaScript API tests use (tests/node/api.test.mjs and friends). */
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
