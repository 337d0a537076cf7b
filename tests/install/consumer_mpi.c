/* An outside MPI program (pkg-config weft-mpi): every rank runs it; rank 0 maps its task
 * over the world and prints what consumer.c prints. */
#include <weft.h>
#include <weft_mpi.h>

#include <stdio.h>
#include <string.h>

static int cube(weft_task *t) {
    int64_t x;
    memcpy(&x, weft_input(t), sizeof x);
    int64_t y = x * x * x;
    return weft_output(t, &y, sizeof y);
}
WEFT_TASK(cube)

enum { N = 1001 };
static int64_t in[N], out[N];

int main(int argc, char **argv) {
    if (weft_mpi_init(&argc, &argv) != 0) { /* the other ranks serve, then exit */
        fprintf(stderr, "weft_mpi_init: %s\n", weft_last_error()->message);
        return 1;
    }
    for (int i = 0; i < N; i++) in[i] = i - 500;
    weft_options o;
    weft_options_init(&o);
    o.backend = "mpi";
    weft_pool *pool = NULL;
    if (weft_pool_open(&pool, &o) != 0 || weft_map(pool, WEFT_FN(cube), in, sizeof in[0], N, out, sizeof out[0]) != 0) {
        fprintf(stderr, "mpi map: %s\n", weft_last_error()->message);
        return 1;
    }
    weft_pool_close(pool);
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        if (out[i] != in[i] * in[i] * in[i]) return fprintf(stderr, "item %d is wrong\n", i), 1;
        sum += out[i] > 0 ? out[i] : 0;
    }
    printf("consumer ok: weft %s, %d ranks, sum of positive cubes %lld\n", weft_version(), weft_mpi_size(),
           (long long)sum);
    return 0;
}
