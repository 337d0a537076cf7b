/* Memory benchmarks, the weft side (bench/run_memory.sh runs it beside joblib):
 *   memcpy of 200 MB and reading it on one core and on all (the physical references), hashing a 200 MB f64 array (the key of a
 *   call with that argument), a hit with a small argument, a hit with a 200 MB argument,
 *   a miss + store of a small result (without and with fsync), and the file system's
 *   floor under the file store's hit and store (file_floors).
 * Prints "name value unit" lines. */
#define _POSIX_C_SOURCE 200809L
#include "weft.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BIG (200u * 1000 * 1000 / 8) /* 200 MB of f64 */

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* x: f64 array or n: i64 -> the sum of x (or n squared), 8 bytes */
static int reduce(weft_task *t) {
    const double *x;
    size_t n;
    double s = 0;
    int64_t k;
    if (weft_args_get_f64_array(weft_input(t), weft_input_size(t), "x", &x, &n) == 0)
        for (size_t i = 0; i < n; i++) s += x[i];
    else if (weft_args_get_i64(weft_input(t), weft_input_size(t), "n", &k) == 0)
        s = (double)k * (double)k;
    return weft_output(t, &s, sizeof s);
}
WEFT_TASK(reduce)

/* CPU time of every thread of the process: the hash runs on several */
static double process_cpu(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double best_of(int reps, double (*fn)(void *), void *ctx) {
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t = fn(ctx);
        if (t < best) best = t;
    }
    return best;
}

typedef struct ctx {
    weft_memory *m;
    weft_args *a;
    double *src, *dst;
    int64_t next;
    int n;
} ctx;

static double run_memcpy(void *p) {
    ctx *c = p;
    double t0 = now();
    memcpy(c->dst, c->src, (size_t)BIG * 8);
    return now() - t0;
}

static volatile uint64_t sink;
static double run_read(void *p) {
    ctx *c = p;
    const uint64_t *q = (const uint64_t *)c->src;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    double t0 = now();
    for (size_t i = 0; i + 4 <= BIG; i += 4) s0 += q[i], s1 += q[i + 1], s2 += q[i + 2], s3 += q[i + 3];
    double t = now() - t0;
    sink = s0 + s1 + s2 + s3;
    return t;
}

/* The parallel floor of the hash: the same 200 MB read on weft_cpu_count() threads, in
 * the 1 MiB chunks the key's tree hash uses (memory/hash_tree.c), handed out one at a
 * time, threads started for each pass as the hash starts them. */
#define CHUNK_WORDS ((size_t)1 << 17) /* 1 MiB of u64 */
typedef struct chunked {
    const uint64_t *q;
    atomic_size_t next;
    atomic_uint_fast64_t sum;
} chunked;

static void *read_chunks(void *p) {
    chunked *r = p;
    size_t chunks = (BIG + CHUNK_WORDS - 1) / CHUNK_WORDS;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t c; (c = atomic_fetch_add(&r->next, 1)) < chunks;) {
        size_t end = (c + 1) * CHUNK_WORDS < BIG ? (c + 1) * CHUNK_WORDS : BIG;
        for (size_t i = c * CHUNK_WORDS; i + 4 <= end; i += 4)
            s0 += r->q[i], s1 += r->q[i + 1], s2 += r->q[i + 2], s3 += r->q[i + 3];
    }
    atomic_fetch_add(&r->sum, s0 + s1 + s2 + s3);
    return NULL;
}

static double run_read_all(void *p) {
    ctx *c = p;
    enum { MAX = 64 };
    pthread_t th[MAX];
    int k = weft_cpu_count() < MAX ? weft_cpu_count() : MAX, started = 0;
    chunked r = {.q = (const uint64_t *)c->src};
    double t0 = now();
    for (int i = 1; i < k; i++) started += pthread_create(&th[started], NULL, read_chunks, &r) == 0;
    read_chunks(&r);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    double t = now() - t0;
    sink = atomic_load(&r.sum);
    return t;
}

static double run_key(void *p) {
    ctx *c = p;
    char hex[33];
    double t0 = now();
    weft_memory_key(c->m, WEFT_FN(reduce), c->a, NULL, hex);
    return now() - t0;
}

static double run_hits(void *p) {
    ctx *c = p;
    weft_bytes out;
    int hit;
    double t0 = now();
    for (int i = 0; i < c->n; i++) {
        weft_memory_call(c->m, WEFT_FN(reduce), c->a, &out, &hit);
        weft_bytes_free(&out, 1);
    }
    return (now() - t0) / c->n;
}

static double run_misses(void *p) {
    ctx *c = p;
    weft_bytes out;
    int hit;
    double t0 = now();
    for (int i = 0; i < c->n; i++) {
        weft_args_reset(c->a);
        weft_args_i64(c->a, "n", c->next++);
        weft_memory_call(c->m, WEFT_FN(reduce), c->a, &out, &hit);
        weft_bytes_free(&out, 1);
    }
    return (now() - t0) / c->n;
}

/* The file system's floor under the file store, in the same run: what a hit from its
 * file (open, fstat, read, close) and a store (create a temporary file, write, close,
 * rename it into place) cost with no cache code around them, on 2000 files of an
 * entry's size in a folder beside the cache. */
static void file_floors(const char *dir) {
    enum { N = 2000 };
    char base[4096], tmp[4200], path[4200];
    snprintf(base, sizeof base, "%s-floor", dir);
    mkdir(base, 0755);
    unsigned char buf[4096] = {0};
    double t0 = now();
    for (int i = 0; i < N; i++) {
        snprintf(tmp, sizeof tmp, "%s/.tmp-%d", base, i);
        snprintf(path, sizeof path, "%s/%d.wfe", base, i);
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write(fd, buf, 160) != 160 || close(fd) != 0 || rename(tmp, path) != 0) {
            fprintf(stderr, "floor: cannot write %s\n", path);
            exit(1);
        }
    }
    printf("floor_create_rename %.2f us\n", 1e6 * (now() - t0) / N);
    t0 = now();
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/%d.wfe", base, i);
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 || read(fd, buf, (size_t)st.st_size) != 160) exit(1);
        close(fd);
    }
    printf("floor_open_read %.2f us\n", 1e6 * (now() - t0) / N);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%s/%d.wfe", base, i);
        unlink(path);
    }
    rmdir(base);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "build/bench-cache";
    ctx c = {0};
    c.src = malloc((size_t)BIG * 8);
    c.dst = malloc((size_t)BIG * 8);
    for (size_t i = 0; i < BIG; i++) c.src[i] = (double)i * 0.5, c.dst[i] = 0;
    printf("memcpy_200MB %.2f GB/s\n", 0.2 / best_of(5, run_memcpy, &c));
    printf("read_200MB %.2f GB/s\n", 0.2 / best_of(5, run_read, &c));

    weft_memory_options o = WEFT_MEMORY_OPTIONS_INIT;
    o.debug = WEFT_NONE;
    if (weft_memory_open(&c.m, dir, &o)) {
        fprintf(stderr, "%s\n", weft_last_error()->message);
        return 1;
    }
    weft_memory_clear(c.m, NULL);
    c.a = weft_args_new();
    size_t n = BIG;
    weft_args_f64_array(c.a, "x", c.src, 1, &n);
    /* hashing against reading, in turns, so both see the same load on a shared machine;
     * also in this thread's CPU time, which leaves out the time other programs ran */
    double hash_s = 1e30, read_s = 1e30, all_s = 1e30, hash_cpu = 1e30, read_cpu = 1e30;
    for (int r = 0; r < 9; r++) {
        double c0 = process_cpu(), h = run_key(&c), c1 = process_cpu(), rd = run_read(&c), c2 = process_cpu();
        double all = run_read_all(&c);
        hash_s = h < hash_s ? h : hash_s;
        read_s = rd < read_s ? rd : read_s;
        all_s = all < all_s ? all : all_s;
        hash_cpu = c1 - c0 < hash_cpu ? c1 - c0 : hash_cpu;
        read_cpu = c2 - c1 < read_cpu ? c2 - c1 : read_cpu;
    }
    printf("read_200MB_all %.2f GB/s\n", 0.2 / all_s);
    printf("hash_200MB %.2f GB/s\n", 0.2 / hash_s);
    printf("hash_200MB_cpu %.2f GB/s\n", 0.2 / hash_cpu);
    printf("read_200MB_cpu %.2f GB/s\n", 0.2 / read_cpu);

    weft_bytes out;
    int hit;
    weft_memory_call(c.m, WEFT_FN(reduce), c.a, &out, &hit); /* store it */
    weft_bytes_free(&out, 1);
    c.n = 1;
    printf("hit_200MB_arg %.2f ms\n", 1e3 * best_of(5, run_hits, &c));

    weft_args_reset(c.a);
    weft_args_i64(c.a, "n", 12345);
    weft_memory_call(c.m, WEFT_FN(reduce), c.a, &out, &hit);
    weft_bytes_free(&out, 1);
    c.n = 20000;
    printf("hit_small_arg %.2f us\n", 1e6 * best_of(5, run_hits, &c));

    c.n = 2000;
    c.next = 1000000;
    printf("miss_store_small %.2f us\n", 1e6 * best_of(3, run_misses, &c));
    weft_memory_close(c.m);

    /* a hit read from its file: a fresh handle (as a new process) reads each entry
     * once, so every read goes to the disk (no touch: the entries are under a minute
     * old, and a touch happens at most once a minute per entry) */
    weft_memory_open(&c.m, dir, &o);
    double t0 = now();
    for (int64_t k = 1000000; k < 1002000; k++) {
        weft_args_reset(c.a);
        weft_args_i64(c.a, "n", k);
        weft_memory_call(c.m, WEFT_FN(reduce), c.a, &out, &hit);
        weft_bytes_free(&out, 1);
    }
    printf("hit_small_arg_file %.2f us\n", 1e6 * (now() - t0) / 2000);
    file_floors(dir);
    weft_memory_close(c.m);

    o.fsync = 1;
    weft_memory_open(&c.m, dir, &o);
    c.n = 200;
    printf("miss_store_small_fsync %.2f us\n", 1e6 * best_of(3, run_misses, &c));

    weft_memory *mm;
    weft_memory_open(&mm, "memory:", &o);
    weft_memory *disk = c.m;
    c.m = mm;
    weft_args_reset(c.a);
    weft_args_i64(c.a, "n", 12345);
    weft_memory_call(c.m, WEFT_FN(reduce), c.a, &out, &hit);
    weft_bytes_free(&out, 1);
    c.n = 100000;
    printf("hit_small_arg_memory_store %.2f us\n", 1e6 * best_of(5, run_hits, &c));
    c.n = 20000; /* weft's own cost of a miss, without the file system's create + rename */
    printf("miss_store_small_memory_store %.2f us\n", 1e6 * best_of(3, run_misses, &c));
    weft_memory_close(mm);
    weft_memory_clear(disk, NULL);
    weft_memory_close(disk);
    weft_args_free(c.a);
    free(c.src);
    free(c.dst);
    return 0;
}
