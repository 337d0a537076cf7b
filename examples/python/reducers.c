/* Reducers that Python finds by name: weft.reduce(task, inputs, "sum_f64", out_size=8)
 * looks up the symbol weft_reducer_sum_f64 in the libraries weft.load_tasks loaded.
 * Part of libweft_examples.so, beside the example tasks (python/README.md). */
#include "weft.h"

#include <math.h>
#include <string.h>

static void zero_f64(void *acc, void *user) {
    (void)user;
    memset(acc, 0, sizeof(double));
}

static void fold_sum_f64(void *acc, const void *output, size_t size, void *user) {
    (void)user;
    double x, *a = acc;
    if (size != sizeof x) return;
    memcpy(&x, output, sizeof x);
    *a += x;
}

static void combine_sum_f64(void *acc, const void *other, void *user) {
    (void)user;
    *(double *)acc += *(const double *)other;
}

/* sum of double outputs */
weft_reducer weft_reducer_sum_f64 = {sizeof(double), zero_f64, fold_sum_f64, combine_sum_f64,
                                     NULL, 0};

/* {count, sum, min, max} of double outputs */
typedef struct stats_f64 {
    double count, sum, min, max;
} stats_f64;

static void init_stats(void *acc, void *user) {
    (void)user;
    stats_f64 *s = acc;
    s->count = s->sum = 0;
    s->min = INFINITY;
    s->max = -INFINITY;
}

static void fold_stats(void *acc, const void *output, size_t size, void *user) {
    (void)user;
    stats_f64 *s = acc;
    double x;
    if (size != sizeof x) return;
    memcpy(&x, output, sizeof x);
    s->count += 1;
    s->sum += x;
    if (x < s->min) s->min = x;
    if (x > s->max) s->max = x;
}

static void combine_stats(void *acc, const void *other, void *user) {
    (void)user;
    stats_f64 *s = acc;
    const stats_f64 *o = other;
    s->count += o->count;
    s->sum += o->sum;
    if (o->min < s->min) s->min = o->min;
    if (o->max > s->max) s->max = o->max;
}

weft_reducer weft_reducer_stats_f64 = {sizeof(stats_f64), init_stats, fold_stats, combine_stats,
                                       NULL, 0};
