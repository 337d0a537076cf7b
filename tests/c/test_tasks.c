#include "test_tasks.h"

#include <string.h>

static int square(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    int64_t y = x * x;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(square)

static int mix64(weft_task *t) {
    uint64_t z;
    memcpy(&z, weft_input(t), sizeof z);
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return weft_output(t, &z, sizeof z);
}
WEFT_TASK(mix64)

static int logistic(weft_task *t) {
    double r;
    memcpy(&r, weft_input(t), sizeof r);
    double x = 0.5;
    for (int i = 0; i < 1000; i++) x = r * x * (1.0 - x);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(logistic)

static int repeat(weft_task *t) {
    size_t n = weft_input_size(t);
    unsigned char buf[512];
    if (2 * n > sizeof buf) return weft_fail(t, "input of %zu bytes is too long", n);
    if (n) {
        memcpy(buf, weft_input(t), n);
        memcpy(buf + n, weft_input(t), n);
    }
    return weft_output(t, buf, 2 * n);
}
WEFT_TASK(repeat)

static int fail_at_13(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x == 13) return weft_fail(t, "unlucky %d", x);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(fail_at_13)

static int wrong_size(weft_task *t) { return weft_output(t, "abc", 3); }
WEFT_TASK(wrong_size)

static int no_output(weft_task *t) {
    (void)t;
    return 0;
}
WEFT_TASK(no_output)

/* The first item fails at once; the others wait for the cancellation it causes. */
static int wait_cancel(weft_task *t) {
    int32_t seen = 0;
    if (weft_task_index(t) == 0) return weft_fail(t, "first task fails");
    for (int64_t i = 0; i < 5000000000LL && !(seen = weft_cancelled(t)); i++) {
    }
    return weft_output(t, &seen, sizeof seen);
}
WEFT_TASK(wait_cancel)

static int nested_sum(weft_task *t) {
    int32_t n;
    memcpy(&n, weft_input(t), sizeof n);
    int64_t in[256], out[256], sum = 0;
    if (n < 0 || n > 256) return weft_fail(t, "n = %d out of range", n);
    for (int i = 0; i < n; i++) in[i] = i;
    int rc = weft_map(NULL, WEFT_FN(square), in, sizeof in[0], (size_t)n, out, sizeof out[0]);
    if (rc) return weft_fail(t, "nested map failed: %s", weft_last_error()->message);
    for (int i = 0; i < n; i++) sum += out[i];
    return weft_output(t, &sum, sizeof sum);
}
WEFT_TASK(nested_sum)

static int whoami(weft_task *t) {
    int32_t who[2] = {weft_worker_id(t), weft_nesting_level(t)};
    return weft_output(t, who, sizeof who);
}
WEFT_TASK(whoami)

static int noop(weft_task *t) {
    (void)t;
    return 0;
}
WEFT_TASK(noop)
