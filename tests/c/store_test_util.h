/* What the store tests share (test_store_log.c, test_store_packed.c): a counted task,
 * a cached map of it over a cache folder, and a store opened on its own. */
#ifndef WEFT_STORE_TEST_UTIL_H
#define WEFT_STORE_TEST_UTIL_H
#include "check.h"
#include "store.h"
#include "weft.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int runs;

static int cube(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), 8);
    x = x * x * x;
    atomic_fetch_add(&runs, 1);
    return weft_output(t, &x, 8);
}
WEFT_TASK(cube)

/* A map of cube over first..first+n with the cache at dir: how many items ran (every
 * result checked), or -1 when the cache cannot be opened. */
static inline int cached_map(const char *dir, int64_t n, int64_t first, const weft_memory_options *mo) {
    weft_memory *m;
    if (weft_memory_open(&m, dir, mo) != 0) return -1;
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.memory = m;
    weft_pool *pool;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    int64_t *in = malloc((size_t)n * 8), *out = malloc((size_t)n * 8);
    for (int64_t i = 0; i < n; i++) in[i] = first + i;
    atomic_store(&runs, 0);
    CHECK_EQ(weft_map(pool, WEFT_FN(cube), in, 8, (size_t)n, out, 8), 0);
    int64_t bad = 0;
    for (int64_t i = 0; i < n; i++) bad += out[i] != in[i] * in[i] * in[i];
    CHECK_EQ(bad, 0);
    weft_pool_close(pool);
    weft_memory_close(m);
    free(in), free(out);
    return atomic_load(&runs);
}

static inline const weft_store *open_store(const char *dir, void **state) {
    const weft_store *s = weft__store_for(dir);
    *state = calloc(1, s->state_size);
    int rc = s->open(*state, dir);
    if (rc) fprintf(stderr, "cannot open %s: %s\n", dir, weft_last_error()->message);
    CHECK_EQ(rc, 0);
    return s;
}

static inline void close_store(const weft_store *s, void *state) {
    s->close(state);
    free(state);
}
#endif
