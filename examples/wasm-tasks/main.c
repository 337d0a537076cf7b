/* The example tasks as a command-line program: natively, or as WASI under Node
 *   node cmake/wasi-run.mjs build/wasi/examples/wasm-tasks/example_tasks_cli.wasm 8 [CACHE]
 * Estimates pi from N seeds with the pi_darts task and prints one line per seed; with a
 * cache folder, a second run is served from it (the same entries a native build makes). */
#include "weft.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

WEFT_TASK_DECLARE(pi_darts); /* in tasks.c */

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 8;
    if (n <= 0 || n > 1000000) {
        fprintf(stderr, "usage: %s N [CACHE-FOLDER]   (1 <= N <= 1000000)\n", argv[0]);
        return 2;
    }
    uint64_t *seeds = malloc(n * sizeof *seeds);
    double *pi = malloc(n * sizeof *pi);
    if (!seeds || !pi) return 1;
    for (int i = 0; i < n; i++) seeds[i] = (uint64_t)i * 1000003u;

    weft_options o = {0};
    weft_memory *m = NULL;
    if (argc > 2 && weft_memory_open(&m, argv[2], NULL) != 0) {
        fprintf(stderr, "%s\n", weft_last_error()->message);
        return 1;
    }
    o.memory = m;
    weft_pool *pool = NULL;
    int rc = weft_pool_open(&pool, &o);
    if (!rc) rc = weft_map(pool, WEFT_FN(pi_darts), seeds, sizeof *seeds, (size_t)n, pi, sizeof *pi);
    if (rc) {
        fprintf(stderr, "%s\n", weft_last_error()->message);
        return 1;
    }
    for (int i = 0; i < n; i++) printf("%d %.17g\n", i, pi[i]);
    if (m) {
        weft_memory_stats st;
        weft_memory_stats_get(m, &st);
        fprintf(stderr, "cache: %lld hits, %lld misses\n", (long long)st.hits, (long long)st.misses);
    }
    weft_pool_close(pool);
    weft_memory_close(m);
    free(seeds);
    free(pi);
    return 0;
}
