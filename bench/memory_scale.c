/* Memory at scale: a cache grown to N entries of ~100 bytes by maps with options.memory
 * (one task, an i64 in, 64 bytes out), on the store WEFT_CACHE_STORE picks for a new
 * folder. Prints "name value unit" lines for bench/run_memory.sh's scale table:
 * bytes on disk per entry, entry bytes per entry, miss + store per item (batched, from a
 * map), hit per item (an all-hit map of 10^5), stats (the tool's command), prune of 1%.
 *   memory_scale DIR N TOOL */
#define _POSIX_C_SOURCE 200809L
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int widen(weft_task *t) {
    int64_t x, out[8];
    memcpy(&x, weft_input(t), 8);
    for (int i = 0; i < 8; i++) out[i] = x * (i + 1);
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(widen)

static double map_range(weft_pool *p, int64_t first, int64_t n) {
    int64_t *in = malloc((size_t)n * 8), *out = malloc((size_t)n * 64);
    for (int64_t i = 0; i < n; i++) in[i] = first + i;
    double t0 = now();
    if (weft_map(p, WEFT_FN(widen), in, 8, (size_t)n, out, 64) != 0) {
        fprintf(stderr, "map: %s\n", weft_last_error()->message);
        exit(1);
    }
    double t = now() - t0;
    free(in), free(out);
    return t;
}

static double run(const char *cmd) {
    double t0 = now();
    if (system(cmd) != 0) fprintf(stderr, "failed: %s\n", cmd);
    return now() - t0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: memory_scale DIR N TOOL\n");
        return 2;
    }
    const char *dir = argv[1], *tool = argv[3];
    int64_t n = atoll(argv[2]);
    weft_memory *m;
    weft_memory_options mo = WEFT_MEMORY_OPTIONS_INIT;
    if (weft_memory_open(&m, dir, &mo) != 0) return fprintf(stderr, "%s\n", weft_last_error()->message), 1;
    weft_options o;
    weft_options_init(&o);
    o.backend = "sequential";
    o.memory = m;
    weft_pool *p;
    weft_pool_open(&p, &o);
    double grow = 0;
    for (int64_t at = 0; at < n; at += 100000) grow += map_range(p, at, n - at < 100000 ? n - at : 100000);
    int64_t hits = n < 100000 ? n : 100000;
    map_range(p, 0, hits); /* warm */
    double hit = map_range(p, 0, hits);
    weft_pool_close(p);
    weft_memory_close(m);
    char cmd[9000];
    snprintf(cmd, sizeof cmd, "du -sk '%s' > '%s.du'", dir, dir);
    run(cmd);
    snprintf(cmd, sizeof cmd, "%s.du", dir);
    FILE *f = fopen(cmd, "r");
    long long kb = 0;
    if (f && fscanf(f, "%lld", &kb) != 1) kb = 0;
    if (f) fclose(f);
    snprintf(cmd, sizeof cmd, "'%s' cache stats '%s' > '%s.stats'", tool, dir, dir);
    double stats = run(cmd);
    snprintf(cmd, sizeof cmd, "'%s' cache prune '%s' --max-items %lld > /dev/null", tool, dir, (long long)(n - n / 100));
    double prune = run(cmd);
    printf("disk_per_entry %.0f B\n", kb * 1024.0 / (double)n);
    printf("miss_store %.2f us\n", grow / (double)n * 1e6);
    printf("hit %.2f us\n", hit / (double)hits * 1e6);
    printf("stats %.0f ms\n", stats * 1e3);
    printf("prune_1pct %.0f ms\n", prune * 1e3);
    return 0;
}
