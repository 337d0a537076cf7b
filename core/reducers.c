/* The ready-made reducers (weft_sum_i64 & co.): each a plain weft_reducer, which
 * weft_reduce's loop recognises by its fold function and folds inline (core/job.c). */
#include "internal.h"

#include <stdint.h>

/* Accumulators and outputs are read and written through memcpy: the caller's result and
 * a task's output need not be aligned. */
static void put_i64(void *p, int64_t v) { memcpy(p, &v, sizeof v); }
static void put_f64(void *p, double v) { memcpy(p, &v, sizeof v); }

static void init_zero_i64(void *acc, void *user) { (void)user, put_i64(acc, 0); }
static void init_zero_f64(void *acc, void *user) { (void)user, put_f64(acc, 0.0); }
static void init_max_i64(void *acc, void *user) { (void)user, put_i64(acc, INT64_MAX); }
static void init_min_i64(void *acc, void *user) { (void)user, put_i64(acc, INT64_MIN); }
static void init_inf_f64(void *acc, void *user) { (void)user, put_f64(acc, __builtin_inf()); }
static void init_neg_inf_f64(void *acc, void *user) { (void)user, put_f64(acc, -__builtin_inf()); }

/* fold and combine of each: fold takes a task's output, combine another accumulator,
 * both 8 bytes, so one function serves as both */
#define WEFT__REDUCER(name, type, init, op)                                        \
    static void combine_##name(void *acc, const void *other, void *user) {         \
        (void)user;                                                                \
        put_##type(acc, op(weft__get_##type(acc), weft__get_##type(other)));       \
    }                                                                              \
    static void fold_##name(void *acc, const void *out, size_t size, void *user) { \
        (void)size;                                                                \
        combine_##name(acc, out, user);                                            \
    }                                                                              \
    const weft_reducer weft_##name = {8, init, fold_##name, combine_##name, NULL, 0};
WEFT__REDUCERS(WEFT__REDUCER)

weft__fold_op weft__reducer_op(const weft_reducer *r) {
#define WEFT__IS(name, type, init, op) \
    if (r->fold == fold_##name) return WEFT__FOLD_##name;
    WEFT__REDUCERS(WEFT__IS)
    return WEFT__FOLD_CALL;
}
