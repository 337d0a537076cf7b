/* The processes backend with weft as a shared library: libweft's constructor (which
 * starts the fork server) runs before this program's, so the workers are forked before
 * the task below is registered and must find it at the parent's address. */
#include "check.h"
#include "weft.h"

static int triple(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    x *= 3;
    return weft_output(t, &x, sizeof x);
}
WEFT_TASK(triple)

int main(void) {
    weft_options o;
    weft_options_init(&o);
    o.backend = "processes";
    o.n_jobs = 2;
    weft_pool *pool = NULL;
    CHECK_EQ(weft_pool_open(&pool, &o), 0);
    int64_t in[1000], out[1000];
    for (int i = 0; i < 1000; i++) in[i] = i;
    CHECK_EQ(weft_map(pool, WEFT_FN(triple), in, 8, 1000, out, 8), 0);
    if (weft_last_error()->code) fprintf(stderr, "%s\n", weft_last_error()->message);
    size_t bad = 0;
    for (int i = 0; i < 1000; i++) bad += out[i] != 3 * i;
    CHECK_EQ(bad, 0);
    weft_pool_close(pool);
    return CHECK_DONE();
}
