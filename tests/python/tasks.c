/* Tasks for the Python suite (tests/python), built as libweft_pytasks.so and loaded with
 * weft.load_tasks; memory_reader.c links the same file to read a cache Python wrote. */
#define _POSIX_C_SOURCE 200809L
#include "weft.h"

#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* double -> double x*x + 1 */
static int py_square(weft_task *t) {
    double x;
    if (weft_input_size(t) != sizeof x) return weft_fail(t, "expected 8 bytes");
    memcpy(&x, weft_input(t), sizeof x);
    double y = x * x + 1;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(py_square)

/* a row of doubles -> the same row doubled (any row length) */
static int py_double_row(weft_task *t) {
    size_t n = weft_input_size(t) / sizeof(double);
    double row[64];
    if (n > 64) return weft_fail(t, "row longer than 64");
    memcpy(row, weft_input(t), n * sizeof(double));
    for (size_t i = 0; i < n; i++) row[i] *= 2;
    return weft_output(t, row, n * sizeof(double));
}
WEFT_TASK(py_double_row)

/* a record {int32 id; (4 bytes padding); double x, y} -> {double norm2; int64 id} */
typedef struct point {
    int32_t id;
    int32_t pad;
    double x, y;
} point;
typedef struct point_out {
    double norm2;
    int64_t id;
} point_out;
static int py_point(weft_task *t) {
    point p;
    if (weft_input_size(t) != sizeof p) return weft_fail(t, "expected a 24-byte point");
    memcpy(&p, weft_input(t), sizeof p);
    point_out o = {p.x * p.x + p.y * p.y, p.id};
    return weft_output(t, &o, sizeof o);
}
WEFT_TASK(py_point)

/* int64 -> int64 x + 1; fails on 13 */
static int py_fail13(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x == 13) return weft_fail(t, "unlucky %lld", (long long)x);
    x += 1;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(py_fail13)

/* int32 ms -> int32: sleeps ms milliseconds in 1 ms steps, stopping when cancelled;
 * outputs 1 when it was cancelled */
static int py_sleep(weft_task *t) {
    int32_t ms, cancelled = 0;
    memcpy(&ms, weft_input(t), sizeof ms);
    struct timespec step = {0, 1000000};
    for (int32_t i = 0; i < ms && !(cancelled = weft_cancelled(t)); i++) nanosleep(&step, NULL);
    return weft_output(t, &cancelled, sizeof cancelled);
}
WEFT_TASK(py_sleep)

/* int32 -> int32; raises SIGSEGV on 3 (for the processes backend only!) */
static int py_crash(weft_task *t) {
    int32_t x;
    memcpy(&x, weft_input(t), sizeof x);
    if (x == 3) raise(SIGSEGV);
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(py_crash)

/* bytes -> the bytes twice */
static int py_repeat(weft_task *t) {
    size_t n = weft_input_size(t);
    char buf[4096];
    if (2 * n > sizeof buf) return weft_fail(t, "input longer than 2048 bytes");
    memcpy(buf, weft_input(t), n);
    memcpy(buf + n, weft_input(t), n);
    return weft_output(t, buf, 2 * n);
}
WEFT_TASK(py_repeat)

/* typed arguments x (f64 array) and steps (i64) -> double steps * sum(x) */
static int py_sum_args(weft_task *t) {
    const double *x;
    size_t n;
    int64_t steps;
    if (weft_args_get_f64_array(weft_input(t), weft_input_size(t), "x", &x, &n) ||
        weft_args_get_i64(weft_input(t), weft_input_size(t), "steps", &steps))
        return weft_fail(t, "expected arguments x (f64 array) and steps (i64)");
    double s = 0;
    for (size_t i = 0; i < n; i++) s += x[i];
    s *= (double)steps;
    return weft_output(t, &s, sizeof s);
}
WEFT_TASK(py_sum_args)

/* nothing -> the id of the process that ran it (int64) */
static int py_pid(weft_task *t) {
    int64_t pid = getpid();
    return weft_output(t, &pid, sizeof pid);
}
WEFT_TASK(py_pid)
