/* weft_map_file: the native side of the Node suites. Maps a registered task over the
 * fixed-size items of a file and writes the outputs to another, optionally through a
 * Memory, then prints one JSON line: {"rc":0,"hits":H,"misses":M,"stores":S} or, on a
 * failure, {"rc":-5,"error":"WEFT_ETASK","index":13,"message":"..."}.
 *   weft_map_file TASK IN_FILE IN_SIZE OUT_SIZE OUT_FILE [BACKEND N_JOBS [CACHE_DIR]] */
#include "weft.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *read_all(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *p = malloc(n > 0 ? (size_t)n : 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) free(p), p = NULL;
    fclose(f);
    *size = (size_t)n;
    return p;
}

int main(int argc, char **argv) {
    if (argc != 6 && argc != 8 && argc != 9) {
        fprintf(stderr, "usage: weft_map_file TASK IN_FILE IN_SIZE OUT_SIZE OUT_FILE [BACKEND N_JOBS [CACHE_DIR]]\n");
        return 2;
    }
    const weft_task_def *task = weft_task_find(argv[1]);
    size_t in_size = strtoul(argv[3], NULL, 10), out_size = strtoul(argv[4], NULL, 10), size;
    void *in = read_all(argv[2], &size);
    if (!task || !in || !in_size || size % in_size) {
        fprintf(stderr, "weft_map_file: no task %s, or %s unreadable or not whole items\n", argv[1], argv[2]);
        return 2;
    }
    size_t n = size / in_size;
    void *out = calloc(n ? n : 1, out_size ? out_size : 1);
    weft_options o;
    weft_options_init(&o);
    o.backend = argc > 6 ? argv[6] : "sequential";
    o.n_jobs = argc > 6 ? atoi(argv[7]) : 1;
    o.verbose = WEFT_NONE;
    weft_memory *m = NULL;
    if (argc == 9 && weft_memory_open(&m, argv[8], NULL)) {
        fprintf(stderr, "weft_map_file: %s\n", weft_last_error()->message);
        return 2;
    }
    o.memory = m;
    weft_pool *pool;
    if (weft_pool_open(&pool, &o)) {
        fprintf(stderr, "weft_map_file: %s\n", weft_last_error()->message);
        return 2;
    }
    int rc = weft_map(pool, task, in, in_size, n, out_size ? out : NULL, out_size);
    if (rc) {
        const weft_error *e = weft_last_error();
        printf("{\"rc\":%d,\"error\":\"%s\",\"index\":%lld,\"message\":\"%s\"}\n", rc,
               weft_error_name(rc), (long long)e->task_index, e->message);
    } else {
        weft_memory_stats s = {0};
        if (m) weft_memory_stats_get(m, &s);
        printf("{\"rc\":0,\"hits\":%lld,\"misses\":%lld,\"stores\":%lld}\n", (long long)s.hits,
               (long long)s.misses, (long long)s.stores);
        FILE *f = fopen(argv[5], "wb");
        if (!f || fwrite(out, 1, n * out_size, f) != n * out_size || fclose(f)) return 2;
    }
    weft_pool_close(pool);
    weft_memory_close(m);
    free(in);
    free(out);
    return rc ? 1 : 0;
}
