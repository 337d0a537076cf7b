/* Memory at scale: a cache grown to N entries of ~170 bytes (a 104-byte header, a 64-byte
 * value) by maps with options.memory (one task, an i64 in, 64 bytes out), on the store
 * WEFT_CACHE_STORE picks for a new folder. Prints "name value unit" lines for
 * bench/run_memory.sh's scale table: bytes on disk per entry and the entries' own bytes
 * per entry, miss + store per item (batched, from a map), hit per item (an all-hit map of
 * 10^5), stats (the tool's command), prune of 1%; and the store alone, through its
 * vtable: a put per transaction, puts and gets in batches of 256 (what a map's lookups
 * use), on 20 480 more entries of the same size under random keys (as hashes are).
 *   memory_scale DIR N TOOL */
#define _POSIX_C_SOURCE 200809L
#include "store.h"
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

/* CPU time of this process (user + system): what a phase costs when other programs
 * share the cores (wall times then inflate with the load). */
static double cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int widen(weft_task *t) {
    int64_t x, out[8];
    memcpy(&x, weft_input(t), 8);
    for (int i = 0; i < 8; i++) out[i] = x * (i + 1);
    return weft_output(t, out, sizeof out);
}
WEFT_TASK(widen)

static double last_cpu; /* the CPU seconds of the latest map_range */

static double map_range(weft_pool *p, int64_t first, int64_t n) {
    int64_t *in = malloc((size_t)n * 8), *out = malloc((size_t)n * 64);
    for (int64_t i = 0; i < n; i++) in[i] = first + i;
    double t0 = now(), c0 = cpu();
    if (weft_map(p, WEFT_FN(widen), in, 8, (size_t)n, out, 64) != 0) {
        fprintf(stderr, "map: %s\n", weft_last_error()->message);
        exit(1);
    }
    double t = now() - t0;
    last_cpu = cpu() - c0;
    free(in), free(out);
    return t;
}

/* The store alone, on DIR: seconds per entry of a put each, puts of 256, gets of 256. */
static void store_alone(const char *dir, double *put_one, double *put_batch, double *get_batch,
                        double *put_batch_cpu, double *get_batch_cpu) {
    enum { N = 10240,
           B = 256 };
    const weft_store *s = weft__store_for(dir);
    void *st = calloc(1, s->state_size);
    if (s->open(st, dir) != 0) exit(1);
    static uint8_t keys[2 * N][16], head[100], value[64];
    for (int i = 0; i < 2 * N; i++) { /* splitmix64: keys spread as hashes are */
        uint64_t z = (uint64_t)i * 0x9e3779b97f4a7c15ull + 0x632be59bd9b4e019ull;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        memcpy(keys[i], &z, 8);
        memcpy(keys[i] + 8, &z, 8);
        keys[i][15] ^= 0x5a;
    }
    double t0 = now();
    for (int i = 0; i < N; i++) s->put(st, "alone", keys[i], head, sizeof head, value, sizeof value, 0);
    *put_one = (now() - t0) / N;
    weft__store_put puts[B];
    t0 = now();
    double c0 = cpu();
    for (int at = N; at < 2 * N; at += B) {
        for (int i = 0; i < B; i++) puts[i] = (weft__store_put){"alone", keys[at + i], head, value, sizeof head, sizeof value, 0};
        weft__store_put_many(s, st, puts, B, 0);
    }
    *put_batch = (now() - t0) / N;
    *put_batch_cpu = (cpu() - c0) / N;
    weft__store_get gets[B];
    t0 = now();
    c0 = cpu();
    for (int at = 0; at < 2 * N; at += B) {
        for (int i = 0; i < B; i++) gets[i] = (weft__store_get){.task = "alone", .key = keys[at + i]};
        weft__store_get_many(s, st, gets, B);
        for (int i = 0; i < B; i++) free(gets[i].head.data), free(gets[i].value.data);
    }
    *get_batch = (now() - t0) / (2 * N);
    *get_batch_cpu = (cpu() - c0) / (2 * N);
    s->clear(st, "alone");
    s->close(st);
    free(st);
}

/* The entries' own bytes per entry (header and value), from the store's totals. */
static int task_bytes(const char *task, int64_t n, int64_t bytes, int64_t compute, int64_t newest, void *user) {
    (void)compute, (void)newest;
    if (strcmp(task, "widen") == 0 && n > 0) *(double *)user = (double)bytes / (double)n;
    return 0;
}

static double entry_bytes(const char *dir) {
    const weft_store *s = weft__store_for(dir);
    void *st = calloc(1, s->state_size);
    double per = 0;
    if (s->open(st, dir) != 0) exit(1);
    weft__store_summary_method summary = weft__store_summary_of(s);
    if (summary) { /* a store with an index (packed, log) */
        int64_t disk;
        summary(st, task_bytes, &per, &disk);
    } else {
        per = 104 + 64; /* the file store: an entry is its file's bytes (the header, the value) */
    }
    s->close(st);
    free(st);
    return per;
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
    double grow = 0, grow_cpu = 0;
    for (int64_t at = 0; at < n; at += 100000) {
        grow += map_range(p, at, n - at < 100000 ? n - at : 100000);
        grow_cpu += last_cpu;
    }
    int64_t hits = n < 100000 ? n : 100000;
    map_range(p, 0, hits); /* warm */
    double hit = map_range(p, 0, hits), hit_cpu = last_cpu;
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
    double put_one, put_batch, get_batch, put_batch_cpu, get_batch_cpu;
    store_alone(dir, &put_one, &put_batch, &get_batch, &put_batch_cpu, &get_batch_cpu);
    printf("store_put_one %.2f us\n", put_one * 1e6);
    printf("store_put_256 %.2f us\n", put_batch * 1e6);
    printf("store_put_256_cpu %.2f us\n", put_batch_cpu * 1e6);
    printf("store_get_256 %.2f us\n", get_batch * 1e6);
    printf("store_get_256_cpu %.2f us\n", get_batch_cpu * 1e6);
    double own = entry_bytes(dir);
    printf("disk_per_entry %.0f B\n", kb * 1024.0 / (double)n);
    printf("entry_bytes %.0f B\n", own);
    printf("disk_ratio %.2f x\n", kb * 1024.0 / (double)n / own);
    printf("miss_store %.2f us\n", grow / (double)n * 1e6);
    printf("miss_store_cpu %.2f us\n", grow_cpu / (double)n * 1e6);
    printf("hit %.2f us\n", hit / (double)hits * 1e6);
    printf("hit_cpu %.2f us\n", hit_cpu / (double)hits * 1e6);
    printf("stats %.0f ms\n", stats * 1e3);
    printf("prune_1pct %.0f ms\n", prune * 1e3);
    return 0;
}
