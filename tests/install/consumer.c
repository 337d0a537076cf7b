/* An outside program: it sees only the installed weft.h and library, maps its own task
 * (cube.c) on an explicit pool and on the default one. */
#include <weft.h>

#include <stdio.h>
#include <string.h>

WEFT_TASK_DECLARE(cube); /* cube.c */

enum { N = 1001 };
static int64_t in[N], out[N];

static int check(const char *what) {
    for (int i = 0; i < N; i++)
        if (out[i] != in[i] * in[i] * in[i]) {
            fprintf(stderr, "%s: item %d is %lld\n", what, i, (long long)out[i]);
            return 1;
        }
    return 0;
}

int main(void) {
    for (int i = 0; i < N; i++) in[i] = i - 500;

    weft_options o;
    weft_options_init(&o);
    o.backend = "threads";
    o.n_jobs = 3;
    weft_pool *pool = NULL;
    if (weft_pool_open(&pool, &o) != 0) {
        fprintf(stderr, "weft_pool_open: %s\n", weft_last_error()->message);
        return 1;
    }
    if (weft_map(pool, WEFT_FN(cube), in, sizeof in[0], N, out, sizeof out[0]) != 0) {
        fprintf(stderr, "weft_map: %s\n", weft_last_error()->message);
        return 1;
    }
    if (check("threads pool")) return 1;
    weft_pool_close(pool);

    memset(out, 0, sizeof out);
    const weft_task_def *found = weft_task_find("cube");
    if (!found || weft_map(NULL, found, in, sizeof in[0], N, out, sizeof out[0]) != 0) {
        fprintf(stderr, "default pool: %s\n", weft_last_error()->message);
        return 1;
    }
    if (check("default pool")) return 1;

    int64_t sum = 0;
    for (int i = 0; i < N; i++) sum += out[i] > 0 ? out[i] : 0;
    printf("consumer ok: weft %s, %zu backends, %zu task(s), sum of positive cubes %lld\n",
           weft_version(), weft_backend_count(), weft_task_count(), (long long)sum);
    weft_shutdown();
    return 0;
}
